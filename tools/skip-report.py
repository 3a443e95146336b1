#!/usr/bin/env python3
"""Counts the tests that did not run and says why, from CTest's JUnit files (ctest --output-junit).

    tools/skip-report.py build/ctest-unit.xml build/ctest-integration.xml

A GoogleTest test that calls GTEST_SKIP() prints "file:line: Skipped" and its reason on the next
lines; CTest marks its entry "notrun". The end-to-end suites (one CTest entry for several tests,
tests/e2e/SkipAwareMain.cpp) print one "sluice-skip: Suite.Test: reason" line per skipped test,
also when the rest of the suite ran. Each skipped test counts once, with its reason. Prints
"skipped: N test(s)" and one indented line per test (a reason shared by more than three tests: one
line with their count, one naming the first three); exits 0 (skips are reported, not judged: the
suites that must not skip turn a skip into a failure themselves, e.g. SLUICE_E2E_NO_SKIP=1).
"""
import sys
import xml.etree.ElementTree as ElementTree


def gtest_reason(output):
    """The text after a "file:line: Skipped" line, up to the next blank line."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(": Skipped"):
            reason = []
            for follow in lines[i + 1:]:
                if not follow.strip() or follow.startswith("["):
                    break
                reason.append(follow.strip())
            return " ".join(reason) or "(no reason given)"
    return None


def skips(path):
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        print(f"skip-report: cannot read {path}: {error}", file=sys.stderr)
        return []
    out = []
    for case in root.iter("testcase"):
        output = case.findtext("system-out") or ""
        marked = [line[len("sluice-skip: "):] for line in output.splitlines()
                  if line.startswith("sluice-skip: ")]
        for line in marked:
            name, _, reason = line.partition(": ")
            out.append((name, reason or "(no reason given)"))
        skipped = case.find("skipped")
        if case.get("status") == "notrun" and not marked:
            message = skipped.get("message", "") if skipped is not None else ""
            if message == "Disabled":
                continue
            reason = gtest_reason(output) or message or "not run"
            out.append((case.get("name", "?"), reason))
    return out


def main(paths):
    found = []
    for path in paths:
        found.extend(skips(path))
    print(f"skipped: {len(found)} test(s)")
    # Tests skipped for the same reason share one entry (40 fixtures skip for want of XDP
    # metadata), in the order their first test came.
    by_reason = {}
    for name, reason in found:
        by_reason.setdefault(reason, []).append(name.split("  # GetParam()")[0].strip())
    for reason, names in by_reason.items():
        if len(names) <= 3:
            for name in names:
                print(f"  {name}: {reason}")
            continue
        print(f"  {len(names)} tests: {reason}")
        print(f"    {', '.join(names[:3])} and {len(names) - 3} more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
