// The circuit page's packet-capture button (POST /api/capture, docs/capture.md): starts a capture
// of every address of the circuit, shows its progress and, when done, a link that downloads the
// pcap file (GET /api/capture/{id}, the session cookie authenticates it).
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, post } from "../api";

interface CaptureStatus {
  id: string;
  state: "running" | "done" | "failed";
  seconds: number;
  packets: number;
  kernel_drops: number;
  error?: string;
}

export function CaptureButton({ circuit }: { circuit: string }) {
  const [status, setStatus] = useState<CaptureStatus | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    if (!status || status.state !== "running") return;
    const timer = setTimeout(async () => {
      try {
        setStatus(await get<CaptureStatus>(`/api/capture/${status.id}/status`));
      } catch (e) {
        setError((e as ApiError).message);
      }
    }, 1000);
    return () => clearTimeout(timer);
  }, [status]);

  const start = async () => {
    setError("");
    try {
      setStatus(await post<CaptureStatus>("/api/capture", { circuit }));
    } catch (e) {
      setError((e as ApiError).message);
    }
  };

  const running = status?.state === "running";
  return (
    <span class="capture" data-testid="capture">
      <button onClick={start} disabled={running} title="capture this subscriber's packets (pcap)">
        {running ? `Capturing… ${status?.packets ?? 0} packets` : "Capture packets"}
      </button>
      {status?.state === "done" && (
        <a class="button" href={`/api/capture/${status.id}`} download data-testid="capture-download">
          Download pcap ({status.packets} packets{status.kernel_drops ? `, ${status.kernel_drops} dropped` : ""})
        </a>
      )}
      {status?.state === "failed" && <span class="danger"> capture failed: {status.error}</span>}
      {error && <span class="danger"> {error}</span>}
    </span>
  );
}
