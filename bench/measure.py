"""Run one benchmark process and report its peak RSS.

Usage: python measure.py <command> [args...]
Prints one JSON line: the child's own JSON result (its last stdout line) plus
"maxrss_mb" (peak resident set of the child, from wait4's rusage) and "wall_s".
Used for both sides (ours and delta-rs) so memory is measured the same way.
"""
import json
import os
import subprocess
import sys
import time

def main() -> int:
    cmd = sys.argv[1:]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    lines = [l for l in out.decode().splitlines() if l.strip()]
    if code != 0 or not lines:
        print(json.dumps({"error": f"exit code {code}", "stdout": out.decode()[-2000:]}))
        return 1
    result = json.loads(lines[-1])
    result["maxrss_mb"] = rusage.ru_maxrss / 1024.0  # Linux reports KiB
    result["wall_s"] = wall
    print(json.dumps(result))
    return 0

if __name__ == "__main__":
    sys.exit(main())
