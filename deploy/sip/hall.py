#!/usr/bin/env python3
"""Harness add-on for issue 18: a hall's room system (baresip, Debian) in a network namespace of its own.

    bridge sipbr0, 10.233.0.0/24: this machine .1 (Kamailio and rtpengine's hall side), the hall .50

Like ``deploy/cluster/media_reach.py`` it uses a prefix, bridge and subnet of its own (``sip-``,
``sipbr0``, 10.233.0.0/24), so it runs beside the cluster harness; ``down`` removes what a cut-short
run left. Root only. Standard library only.

    python deploy/sip/hall.py up | down
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NS = "sip-hall"
BRIDGE = "sipbr0"
VETH = "sipv0"
SUBNET = "10.233.0"
GATEWAY, HALL = f"{SUBNET}.1", f"{SUBNET}.50"
MODULES = "/usr/lib/baresip/modules"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def network_up() -> None:
    network_down()
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("ip", "netns", "add", NS)
    run("ip", "-n", NS, "link", "set", "lo", "up")
    run("ip", "link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NS)
    run("ip", "link", "set", VETH, "master", BRIDGE)
    run("ip", "link", "set", VETH, "up")
    run("ip", "-n", NS, "addr", "add", f"{HALL}/24", "dev", "eth0")
    run("ip", "-n", NS, "link", "set", "eth0", "up")


def network_down() -> None:
    if Path(f"/run/netns/{NS}").exists():
        for pid in run("ip", "netns", "pids", NS, check=False).stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        run("ip", "netns", "del", NS, check=False)
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        run("ip", "link", "del", BRIDGE, check=False)


def baresip_config(folder: Path, *, username: str, password: str | None, transport: str = "udp",
                   port: int = 5060, srtp: bool = False, target: str = "diemcau", picture: Path | None = None) -> str:
    """Write baresip's config and account for the hall (G.722 only, H.264, a 700 Hz tone from a file, a test
    picture: baresip's flat ``fakevideo``, or ``picture``, a video file it plays in a loop); received audio is
    recorded by ``sndfile`` into ``folder/rec``. Returns the URI to dial."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rec").mkdir(exist_ok=True)
    modules = ["g722.so", "avcodec.so", "aufile.so", "fakevideo.so", "aubridge.so", "sndfile.so",
               "srtp.so", "menu.so", *(["avformat.so"] if picture else [])]
    tone = folder / "tone-700hz.wav"
    write_tone(tone, 700.0, seconds=120)
    config = [
        "poll_method epoll", f"sip_listen {HALL}:5060", "call_local_timeout 120", "call_max_calls 2",
        "audio_player aubridge,hall", f"audio_source aufile,{tone}", "audio_alert aubridge,hall",
        f"video_source avformat,{picture}" if picture else "video_source fakevideo,nil",
        "video_display fakevideo,nil", "video_size 640x360",
        "video_bitrate 600000", "video_fps 25.00", "rtcp_mux no", "jitter_buffer_delay 2-10",
        f"module_path {MODULES}", *(f"module {m}" for m in modules if m != "menu.so"),
        "module_tmp uuid.so", "module_tmp account.so", "module_app menu.so",
        f"snd_path {folder / 'rec'}", "avcodec_h264enc libx264", "avcodec_h264dec h264",
        "sip_verify_server no",
    ]
    (folder / "config").write_text("\n".join(config) + "\n")
    scheme_port = f"{GATEWAY}:{port};transport={transport}"
    params = ";regint=0"
    if password is not None:
        params += f";auth_pass={password}"
    if srtp:
        params += ";mediaenc=srtp-mand"
    (folder / "accounts").write_text(f"<sip:{username}@{scheme_port}>{params}\n")
    (folder / "contacts").write_text("")
    return f"sip:{target}@{scheme_port}"


def write_picture(path: Path, label: str, seconds: int = 10) -> Path:
    """A short H.264 file of a test picture with ``label`` (the hall's camera, looped by baresip's avformat)."""
    if not path.exists():
        text = path.with_suffix(".txt")
        text.write_text(label, encoding="utf-8")
        font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size=640x360:rate=25:duration={seconds}", "-vf",
                        f"drawtext=fontfile={font}:textfile={text}:fontsize=20:fontcolor=white:box=1:"
                        "boxcolor=black@0.6:boxborderw=10:x=(w-tw)/2:y=h*0.42", "-c:v", "libx264", "-preset",
                        "ultrafast", "-pix_fmt", "yuv420p", "-g", "25", str(path)], check=True)
    return path


def write_tone(path: Path, hz: float, seconds: int, rate: int = 16000) -> None:
    """A mono 16-bit WAV of a ``hz`` tone (the hall's microphone: G.722 is 16 kHz); ``hz`` a multiple of 10."""
    import array
    import math
    import wave

    chunk = array.array("h", (int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(rate // 10)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(chunk.tobytes() * (seconds * 10))


def start_baresip(folder: Path, uri: str, seconds: int = 600) -> subprocess.Popen:
    """baresip in the hall's namespace, dialling ``uri`` at once; its output in ``folder/baresip.log``."""
    out = open(folder / "baresip.log", "ab")
    return subprocess.Popen(["ip", "netns", "exec", NS, "baresip", "-f", str(folder), "-t", str(seconds),
                             "-e", f"/dial {uri}"], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


if __name__ == "__main__":
    {"up": network_up, "down": network_down}[sys.argv[1]]()
