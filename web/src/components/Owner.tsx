// Circuit ownership (where a circuit comes from, GET /api/circuits*'s "owner") and the note the
// editor shows when a live edit goes to the devices overrides layer instead of ShapedDevices.csv.
import { InputMode, Owner } from "../api";

const LABELS: Record<string, string> = {
  overrides: "overrides",
  uisp: "UISP",
  splynx: "Splynx",
  sonar: "Sonar",
  custom: "custom pipeline",
  file: "ShapedDevices.csv",
  radius: "RADIUS",
};

const TITLES: Record<string, string> = {
  overrides: "from the devices overrides file: a live edit, kept across syncs",
  uisp: "from the UISP integration: rewritten on every sync",
  splynx: "from the Splynx integration: rewritten on every sync",
  sonar: "from the Sonar integration: rewritten on every sync",
  custom: "from the custom pipeline ([sync] custom_command): rewritten on every sync",
  file: "from ShapedDevices.csv, edited by hand or through this UI",
  radius: "a dynamic circuit of a RADIUS session (accounting, CoA): in no file; GET /api/radius",
};

// Tags in lists are short; the title says the rest.
const SHORT: Record<string, string> = { custom: "custom", file: "file" };

export const ownerLabel = (o: string | undefined) => (o ? LABELS[o] ?? o : "–");

/** True when a sync rewrites the circuit's source (an integration or the custom pipeline). */
export const isSynced = (o: string | undefined) =>
  !!o && o !== "file" && o !== "overrides" && o !== "radius";

/** The owner as a small tag; nothing when the server did not say (an older sluiced). */
export function OwnerTag({ owner, testid }: { owner: Owner | undefined; testid?: string }) {
  if (!owner) return null;
  return (
    <span class={`tag owner owner-${owner}`} title={TITLES[owner] ?? ""} data-testid={testid} data-owner={owner}>
      {SHORT[owner] ?? ownerLabel(owner)}
    </span>
  );
}

/**
 * Where the editor's change goes, for a synced or overridden circuit, or for a new circuit while
 * a sync owns ShapedDevices.csv (sluiced then defaults [sluice] devices_overrides to
 * <state_directory>/ShapedDevices.overrides.csv). Nothing for a hand-written file.
 */
export function OverridesNote({ owner, mode, isNew }: { owner?: Owner; mode?: InputMode; isNew: boolean }) {
  const synced = mode === "integration" || mode === "custom";
  const where = (
    <>the overrides layer (<span class="mono">[sluice] devices_overrides</span>, by default{" "}
      <span class="mono">&lt;state_directory&gt;/ShapedDevices.overrides.csv</span>)</>
  );
  let text;
  if (isNew && synced) {
    text = <>A sync owns ShapedDevices.csv, so a new circuit is added to {where}; it persists across syncs.</>;
  } else if (!isNew && isSynced(owner)) {
    text = (
      <>This circuit comes from <b>{ownerLabel(owner)}</b>, which rewrites ShapedDevices.csv on every sync. Edits
        here are written to {where} and persist across syncs: the override replaces the synced circuit (a removal
        hides it) until it is taken out of that file.</>
    );
  } else if (!isNew && owner === "radius") {
    text = (
      <>This circuit is a RADIUS session's (accounting, CoA): it is in no file and changes with the session.
        Change its rates with a CoA-Request; a ShapedDevices.csv circuit with the same address wins over it.</>
    );
  } else if (!isNew && owner === "overrides") {
    text = (
      <>This circuit is in {where}: it replaces what the input files say and persists across syncs. Edits stay in
        the overrides layer.</>
    );
  } else {
    return null;
  }
  return <div class="note" data-testid="overrides-note">{text}</div>;
}
