"""The product's switch, timed: the director's click on the console → first decoded frame of the new
source at kiosks on two edges (`switch_ms`, median of the slower kiosk; `switch_p95_ms`).

The scenario is the end-to-end test ``tests/e2e/test_live_switch.py`` (real Janus root and two edges,
the runtime, the ASGI server, Chromium: studio, a kiosk with the floor, kiosks at two edges, the
director's console), run by pytest with ``DIEMCAU_BENCH_SWITCHES`` switches; it writes its figures to
``DIEMCAU_BENCH_OUT``. Needs PostgreSQL (``DATABASE_URL``, default the local diemcau server).

Where the time goes (``switch_phases_ms``, medians): the click → the programme written (``written``:
the console's websocket, the server's checks) → the runtime saw it (``seen_at``: the commit, the
NOTIFY) → it began stopping the old forwarders → they are stopped (``stopped_at``) → the new ones made
(``forwarded_at``) → keyframe asked (``keyframe_at``) → the slower kiosk's first frame of the new source
(``frame``: the studio's encoder, Janus, the kiosk's jitter buffer and decoder; ``switch_arrived_ms`` is
when the last packet of that frame reached the slower kiosk, after the click). Under load, read
``switch_repoint_cpu_ms`` (the runtime's CPU from the first stop to the keyframe asked) beside them.

``--against REF`` runs the same scenario first on the code of git ``REF`` (e.g. ``main``, exported to a
temporary folder) in the same conditions, and prints both (``baseline`` in the JSON line).

Alone:  PYTHONPATH=src .venv/bin/python bench/media_switch.py [switches] [--against REF]   (last line: JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgres://diemcau:diemcau@127.0.0.1:5432/diemcau"
PHASES = ("written", "seen_at", "stopping_at", "stopped_at", "forwarded_at", "keyframe_at", "frame")


def run(switches: int = 8, root: Path = ROOT_DIR, name: str = "") -> dict:
    """Run the scenario with ``switches`` switches (the code in ``root``); its figures, or {"switch_error": ...}."""
    with tempfile.TemporaryDirectory(prefix="bench-switch-") as folder:
        out = Path(folder) / "switch.json"
        env = {**os.environ, "DIEMCAU_BENCH_SWITCHES": str(switches), "DIEMCAU_BENCH_OUT": str(out),
               "PYTHONPATH": str(root / "src") + os.pathsep + str(root)}
        env.setdefault("DATABASE_URL", DEFAULT_PG)
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e/test_live_switch.py", "-q", "-s",
                               "-p", "no:randomly", "-p", "no:cacheprovider", "--timeout=900"], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)
        log = ROOT_DIR / "var" / f"bench-media-switch{name}.log"  # the whole pytest output, for a failed run
        log.parent.mkdir(exist_ok=True)
        log.write_text(done.stdout + done.stderr, encoding="utf-8")
        if not out.exists():
            return {"switch_error": f"the scenario failed (exit {done.returncode}); see {log}"}
        return json.loads(out.read_text())


def run_at(ref: str, switches: int) -> dict:
    """The scenario on the code of git ``ref`` (exported to a temporary folder, compiled messages included)."""
    with tempfile.TemporaryDirectory(prefix="bench-switch-ref-") as folder:
        root = Path(folder)
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT_DIR, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        subprocess.run([sys.executable, "../../manage.py", "compilemessages", "-v", "0"], cwd=root / "src" / "diemcau",
                       env={**os.environ, "PYTHONPATH": str(root / "src")}, capture_output=True)
        return run(switches, root, "-" + "".join(c if c.isalnum() else "-" for c in ref))


def _line(name: str, figures: dict) -> str:
    phases = figures.get("switch_phases_ms") or {}
    return (f"{name}: switch_ms {figures.get('switch_ms')} (p95 {figures.get('switch_p95_ms')}; new frame arrived "
            f"{figures.get('switch_arrived_ms')}), runtime CPU "
            f"{figures.get('switch_repoint_cpu_ms')} ms; phases " + ", ".join(f"{p} {phases.get(p)}" for p in PHASES))


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("switches", nargs="?", type=int, default=8)
    parser.add_argument("--against", metavar="REF", help="also run the code of this git ref first (a baseline)")
    args = parser.parse_args()
    load = [_loadavg()]
    baseline = run_at(args.against, args.switches) if args.against else None
    figures = run(args.switches)
    load.append(_loadavg())
    if baseline is not None:
        print(_line(f"baseline ({args.against})", baseline), file=sys.stderr)
        figures["baseline"] = {k: v for k, v in baseline.items() if k != "switch_each"}
    print(_line("this code", figures), file=sys.stderr)
    print(f"load average (1, 5, 15 min) at start {load[0]}, at end {load[1]}", file=sys.stderr)
    figures["loadavg"] = load
    print(json.dumps(figures))
