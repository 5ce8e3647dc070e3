"""Run every benchmark: bench_core.py first, then any other bench/bench_*.py.

``make bench`` calls this. Arguments are passed to bench_core.py (e.g. ``--quick``,
``--sqlite-only``, ``--postgres URL``, ``--rebuild``); other scripts run without
arguments (``bench_http.py`` skips its wrk parts, with a message, when wrk is not
installed). Exits non-zero if any script fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = [HERE / "bench_core.py"]
    scripts += sorted(p for p in HERE.glob("bench_*.py") if p.name != "bench_core.py")
    failed = []
    for script in scripts:
        args = sys.argv[1:] if script.name == "bench_core.py" else []
        print(f"\n#### {script.name} {' '.join(args)}".rstrip(), flush=True)
        if subprocess.run([sys.executable, str(script), *args], check=False).returncode:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
