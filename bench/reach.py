"""Benchmark: how the programme reaches halls behind NAT, thin links and mass viewers (issue 13, items 4, 5, 7).

Run as root from the repository root:  PYTHONPATH=src .venv/bin/python bench/reach.py  (``make bench-reach``).
Three parts, each with its baseline measured in the same run:

1. **Renditions.** The synthetic host (960×540, 25 fps, 800 kbit/s) feeds the root's rendition encoder
   (``live/renditions.py``); the RTP each rendition delivers to a node's ports is counted for
   ``--seconds``: ``rendition_low_kbps`` (360p video), ``rendition_audio_kbps`` (Opus, audio only;
   RTP headers included), against ``programme_kbps``, the main programme measured the same way.
2. **TURN.** ``deploy/cluster/media_reach.py``: Chromium in a namespace with no route to the edge
   decodes the programme with ``iceTransportPolicy: relay`` through coturn over UDP, TCP and TLS on
   443 (``turn_only_client_decoding``); the baseline is that the edge is unreachable from there.
3. **HLS at scale.** The root's packager behind an nginx cache host; first ``--baseline-players``
   players (the origin's cost of one player), then ``--players`` players in the clients namespace:
   client hits at the cache against origin hits.

The last line of stdout is one JSON object; the load average at start and end is in it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "cluster"))
sys.path.insert(0, str(ROOT / "src"))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def renditions_part(seconds: float) -> dict:
    from diemcau.live import renditions
    from diemcau.live.media import SyntheticFeed

    base = 34000
    work = Path(tempfile.mkdtemp(prefix="bench-reach-"))
    feed = SyntheticFeed([("127.0.0.1", base, base + 2), ("127.0.0.1", base + 10, base + 12)], size="960x540",
                         fps=25, log_path=work / "feed.log")
    encoder = renditions.RenditionEncoder(base, base + 2, [("127.0.0.1", base + 4, base + 6, base + 8)],
                                          work_dir=work)
    encoder.start()
    feed.start()
    try:
        time.sleep(2.0)
        kbits = renditions.measure_rtp({"programme_video": base + 10, "programme_audio": base + 12,
                                        "low_video": base + 4, "low_audio": base + 6, "audio": base + 8}, seconds)
    finally:
        feed.stop()
        encoder.stop()
    return {"programme_kbps": round(kbits["programme_video"] + kbits["programme_audio"], 1),
            "rendition_low_kbps": round(kbits["low_video"] + kbits["low_audio"], 1),
            "rendition_low_video_kbps": kbits["low_video"], "rendition_audio_kbps": kbits["audio"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--players", type=int, default=200)
    p.add_argument("--baseline-players", type=int, default=1)
    p.add_argument("--only", choices=["renditions", "turn", "hls"])
    args = p.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diemcau.settings")
    import media_reach

    out = {"loadavg_start": loadavg()}
    if args.only in (None, "renditions"):
        out.update(renditions_part(args.seconds))
        print(f"renditions: {out}", file=sys.stderr, flush=True)
    if args.only in (None, "turn"):
        turn = media_reach.turn_only_client_decoding()
        out["turn_only_client_decoding"] = turn.get("turn_only_client_decoding")
        out["turn_by_transport"] = {k: {"decoding": v.get("decoding"), "relay_protocol": v.get("relay_protocol")}
                                    for k, v in (turn.get("by_transport") or {}).items()}
        out["edge_reachable_from_clients"] = turn.get("edge_reachable_from_clients")
        print(f"turn: {turn}", file=sys.stderr, flush=True)
    if args.only in (None, "hls"):
        hls = media_reach.hls_at_scale(players=args.players, seconds=args.seconds, baseline=args.baseline_players)
        base = hls.get("baseline", {})
        out.update({"hls_players": hls.get("players"), "hls_client_hits": hls.get("client_hits"),
                    "hls_origin_hits": hls.get("origin_hits"), "hls_client_to_origin": hls.get("client_to_origin"),
                    "hls_errors": hls.get("errors"), "hls_segments": hls.get("segments"),
                    "hls_baseline_players": base.get("players"), "hls_baseline_origin_hits": base.get("origin_hits"),
                    "hls_baseline_client_hits": base.get("client_hits"),
                    "hls_forged_status": hls.get("forged_status"), "hls_expired_status": hls.get("expired_status")})
        print(f"hls: {hls}", file=sys.stderr, flush=True)
    out["loadavg_end"] = loadavg()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
