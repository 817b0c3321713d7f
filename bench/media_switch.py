"""The product's switch, timed: the director's click on the console → first decoded frame of the new
source at kiosks on two edges (`switch_ms`, median of the slower kiosk; `switch_p95_ms`).

The scenario is the end-to-end test ``tests/e2e/test_live_switch.py`` (real Janus root and two edges,
the runtime, the ASGI server, Chromium: studio, a kiosk with the floor, kiosks at two edges, the
director's console), run by pytest with ``DIEMCAU_BENCH_SWITCHES`` switches; it writes its figures to
``DIEMCAU_BENCH_OUT``. Needs PostgreSQL (``DATABASE_URL``, default the local diemcau server).

Alone:  PYTHONPATH=src .venv/bin/python bench/media_switch.py [switches]   (last line: JSON)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgres://diemcau:diemcau@127.0.0.1:5432/diemcau"


def run(switches: int = 8) -> dict:
    """Run the scenario with ``switches`` switches; its figures, or {"switch_error": ...}."""
    with tempfile.TemporaryDirectory(prefix="bench-switch-") as folder:
        out = Path(folder) / "switch.json"
        env = {**os.environ, "DIEMCAU_BENCH_SWITCHES": str(switches), "DIEMCAU_BENCH_OUT": str(out),
               "PYTHONPATH": str(ROOT_DIR / "src") + os.pathsep + str(ROOT_DIR)}
        env.setdefault("DATABASE_URL", DEFAULT_PG)
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e/test_live_switch.py", "-q", "-s",
                               "-p", "no:randomly", "-p", "no:cacheprovider", "--timeout=900"], cwd=ROOT_DIR, env=env,
                              capture_output=True, text=True, timeout=600)
        log = ROOT_DIR / "var" / "bench-media-switch.log"  # the whole pytest output, for a failed run
        log.parent.mkdir(exist_ok=True)
        log.write_text(done.stdout + done.stderr, encoding="utf-8")
        if not out.exists():
            return {"switch_error": f"the scenario failed (exit {done.returncode}); see {log}"}
        return json.loads(out.read_text())


if __name__ == "__main__":
    figures = run(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
    print(json.dumps(figures))
