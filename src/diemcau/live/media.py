"""Media helpers run as ffmpeg child processes: the synthetic host studio and the HLS packager.

``SyntheticFeed`` plays the host studio when no camera is attached (the demo, tests, benchmarks): a
test pattern with a burnt-in clock (local time of day, to the millisecond) and a beeping tone,
encoded once and sent as RTP to every destination::

    feed = SyntheticFeed([("127.0.0.1", 18600, 18602), ("127.0.0.1", 19600, 19602)], label="Trường quay")
    feed.start()          # ffmpeg -re ... -f tee "[select=v:f=rtp]rtp://...|[select=a:f=rtp]rtp://..."
    feed.running          # True while ffmpeg runs
    feed.stop()

Video is H.264 Constrained Baseline level 3.1 (what the programme mountpoints announce,
``profile-level-id=42e01f;packetization-mode=1``), RTP payload type 96, a keyframe every second;
audio is Opus 48 kHz stereo, payload type 111. Each destination is ``(host, video_port, audio_port)``,
e.g. the root's and the edges' programme mountpoints and the HLS packager's ports.

``HlsPackager`` turns the programme's RTP into HLS for viewers watching alone::

    hls = HlsPackager("programme", video_port=18700, audio_port=18702)   # out_dir var/hls/programme/
    hls.start()           # writes programme.sdp, runs ffmpeg -i programme.sdp -c:v copy -c:a aac -f hls ...
    hls.playlist          # var/hls/programme/index.m3u8, once the first segment is written
    hls.stop()

H.264 is copied (not transcoded), Opus becomes AAC (HLS players do not take Opus in MPEG-TS).
When the programme's source changes (the director switches), call ``hls.new_source()``: ffmpeg is
restarted and the playlist continues after an ``#EXT-X-DISCONTINUITY``.
Segments last one second (one GOP of the feed or of a browser's stream, cut at the next keyframe),
the playlist keeps six and older segment files are deleted; the playlist is written to a temporary
file and renamed, so a web server never serves half of it.

Both run ffmpeg in its own process group, write its stderr to a log under ``var/media/``, stop it
with their ``stop()`` (the whole group: SIGINT, SIGKILL after a few seconds) and ask the kernel to
stop it when the thread that started it ends (``PR_SET_PDEATHSIG``, as ``JanusNode`` does), so a
crashed run leaves no ffmpeg behind.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import os
import signal
import subprocess
import time
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from django.conf import settings

from diemcau import paths
from diemcau.live.janus_plugins import H264_FMTP, H264_PT, OPUS_PT

FFMPEG_BINARY = "/usr/bin/ffmpeg"
FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian package fonts-dejavu-core


class MediaError(RuntimeError):
    """An ffmpeg child could not be started or died at once; the message carries its log's end."""


def default_var_dir() -> Path:
    """``$DIEMCAU_VAR`` or ``var/`` in the checkout (``diemcau.paths``: the rule of settings.VAR_DIR)."""
    return paths.var_dir()


def local_zone() -> tzinfo:
    """The zone of the studio's clock: settings.TIME_ZONE when Django is set up, else the host's own."""
    if settings.configured:  # benchmarks run these helpers without Django set up
        return ZoneInfo(settings.TIME_ZONE)
    return datetime.now().astimezone().tzinfo


def _child_setup() -> None:
    """In the child before exec: a process group of its own, and SIGTERM when the parent thread dies."""
    os.setpgid(0, 0)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class _FfmpegChild(abc.ABC):
    """One ffmpeg process with its log; shared start/stop logic."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    @property
    def pid(self) -> int | None:
        """Process id of the running ffmpeg (also its process group id), or None."""
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        """Whether ffmpeg runs."""
        return self._process is not None and self._process.poll() is None

    def _spawn(self, args: list[str], what: str) -> None:
        if self.running:
            raise MediaError(f"{what} is already running (pid {self._process.pid})")
        if not Path(FFMPEG_BINARY).exists():
            raise MediaError(f"{FFMPEG_BINARY} not found (Debian package ffmpeg)")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n==== diemcau: starting {what} at {time.ctime()} ====\n".encode())
        self._log_file.write((" ".join(args) + "\n").encode())
        self._log_file.flush()
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            preexec_fn=_child_setup,
        )
        # ffmpeg refuses a bad filtergraph or option within a few tens of milliseconds.
        time.sleep(0.15)
        if self._process.poll() is not None:
            code = self._process.returncode
            self._process = None
            self._close_log()
            raise MediaError(f"{what} exited with {code}:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop ffmpeg and anything in its process group (SIGINT, then SIGKILL); nothing if stopped."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)  # ffmpeg finishes its outputs on SIGINT
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._process = None
        self._close_log()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log yet)"
        return "\n".join(text.splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.stop(timeout=1.0)

    @abc.abstractmethod
    def start(self) -> None:
        """Start the ffmpeg child (each kind builds its own command line)."""

    @abc.abstractmethod
    def _describe(self) -> str:
        """What this child is, for its repr and its errors."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self._process.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self._describe()} {state}>"


class SyntheticFeed(_FfmpegChild):
    """A test pattern with a clock and a tone, sent as RTP (H.264 pt 96, Opus pt 111) to every destination.

    :param destinations: ``(host, video_port, audio_port)`` per receiver; the picture is encoded once
        and the packets copied to each (ffmpeg's tee muxer); a receiver that is not listening does not
        stop the others.
    :param size: picture size, ``WIDTHxHEIGHT``.
    :param fps: frames per second; a keyframe comes every ``keyframe_seconds``.
    :param label: text written above the clock (e.g. the studio's name).
    :param video_bitrate: H.264 target bitrate, e.g. ``"800k"``.
    :param log_path: ffmpeg's stderr; default ``var/media/feed-<pid of this process>.log``.
    """

    @classmethod
    def programme_host(cls, destinations: list[tuple[str, int, int]], size: tuple[int, int]) -> Self:
        """The live runtime's synthetic host (while no studio publishes), towards ``destinations``."""
        return cls(destinations, size=f"{size[0]}x{size[1]}", fps=15, label="diemcau – Điểm cầu chính (tín hiệu thử)")

    def __init__(
        self,
        destinations: list[tuple[str, int, int]],
        *,
        size: str = "640x360",
        fps: int = 25,
        label: str = "diemcau — trường quay thử",
        keyframe_seconds: float = 1.0,
        video_bitrate: str = "800k",
        tone_hz: int = 440,
        log_path: Path | str | None = None,
    ) -> None:
        if not destinations:
            raise MediaError("a synthetic feed needs at least one destination")
        for host, video_port, audio_port in destinations:
            if not host or ":" in host or "|" in host or "[" in host or "]" in host:
                raise MediaError(f"destination host {host!r} must be an IPv4 address or a host name")
            if video_port == audio_port or not (0 < video_port < 65536 and 0 < audio_port < 65536):
                raise MediaError(f"destination ports {video_port}, {audio_port} must be two different ports")
        width, _, height = size.partition("x")
        if not (width.isdigit() and height.isdigit()):
            raise MediaError(f"size {size!r} must be WIDTHxHEIGHT")
        self.destinations = list(destinations)
        self.size = size
        self.fps = int(fps)
        self.label = label
        self.keyframe_interval = max(1, round(self.fps * keyframe_seconds))
        self.video_bitrate = video_bitrate
        self.tone_hz = int(tone_hz)
        self.started_at: float | None = None  # time.time() just before ffmpeg was started
        super().__init__(Path(log_path) if log_path else default_var_dir() / "media" / f"feed-{os.getpid()}.log")

    def command(self, start: datetime | None = None) -> list[str]:
        """The ffmpeg command line; ``start`` is the local time the clock starts from (now by default)."""
        zone = local_zone()
        start = (start or datetime.now(zone)).astimezone(zone)
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset = (start - midnight).total_seconds()
        height = int(self.size.partition("x")[2])
        big, small = max(16, height // 9), max(12, height // 18)
        # The clock is the frame's timestamp plus the local time of day at start; with -re ffmpeg emits
        # frames at their timestamps, so it runs with the wall clock (drawtext's localtime has no ms).
        clock = f"%{{pts\\:hms\\:{offset:.3f}}}"
        font = f"fontfile={FONT_FILE}"
        box = "box=1:boxcolor=black@0.65:boxborderw=8"
        video_filter = (
            f"[0:v]drawtext={font}:fontsize={small}:fontcolor=white:{box}:x=(w-tw)/2:y=h*0.58"
            f":expansion=none:textfile='{self.label_path}',"
            f"drawtext={font}:fontsize={big}:fontcolor=white:{box}:x=(w-tw)/2:y=h*0.70:text='{clock}'[v]"
        )
        outputs = []
        for host, video_port, audio_port in self.destinations:
            outputs.append(
                f"[select=v:f=rtp:payload_type={H264_PT}:onfail=ignore]rtp://{host}:{video_port}?pkt_size=1200"
            )
            outputs.append(f"[select=a:f=rtp:payload_type={OPUS_PT}:onfail=ignore]rtp://{host}:{audio_port}")
        return [
            FFMPEG_BINARY, "-hide_banner", "-loglevel", "warning", "-nostdin", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={self.size}:rate={self.fps}",
            "-f", "lavfi", "-i", f"sine=frequency={self.tone_hz}:beep_factor=2:sample_rate=48000",
            "-filter_complex", video_filter,
            "-map", "[v]", "-map", "1:a",
            # Constrained Baseline 3.1, no B-frames, repeated SPS/PPS: matches the mountpoints' 42e01f fmtp
            # and lets HLS copy the stream; zerolatency keeps the encoder from holding frames back.
            "-c:v", "libx264", "-profile:v", "baseline", "-level:v", "3.1", "-preset", "ultrafast",
            "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-threads", "1",
            "-g", str(self.keyframe_interval), "-keyint_min", str(self.keyframe_interval), "-sc_threshold", "0",
            "-b:v", self.video_bitrate, "-maxrate", self.video_bitrate, "-bufsize", self.video_bitrate,
            "-x264-params", "repeat-headers=1",
            "-c:a", "libopus", "-b:a", "48k", "-ac", "2", "-ar", "48000", "-application", "lowdelay",
            "-f", "tee", "|".join(outputs),
        ]  # fmt: skip

    @property
    def label_path(self) -> Path:
        """The label as a text file next to the log (drawtext reads it: no escaping of the text needed)."""
        return self.log_path.with_suffix(".label.txt")

    def start(self) -> None:
        """Start ffmpeg; raises MediaError with the log's end if it exits at once."""
        self.label_path.parent.mkdir(parents=True, exist_ok=True)
        self.label_path.write_text(self.label, encoding="utf-8")
        self.started_at = time.time()
        self._spawn(self.command(), f"synthetic feed {self.label!r}")

    def _describe(self) -> str:
        return f"{self.label!r} → {len(self.destinations)} destinations"


def programme_sdp(video_port: int, audio_port: int, *, host: str = "127.0.0.1", name: str = "programme") -> str:
    """An SDP describing the programme's RTP as diemcau sends it (H.264 pt 96, Opus pt 111) to ``host``."""
    return (
        "v=0\r\n"
        f"o=- 0 0 IN IP4 {host}\r\n"
        f"s=diemcau {name}\r\n"
        f"c=IN IP4 {host}\r\n"
        "t=0 0\r\n"
        f"m=video {video_port} RTP/AVP {H264_PT}\r\n"
        f"a=rtpmap:{H264_PT} H264/90000\r\n"
        f"a=fmtp:{H264_PT} {H264_FMTP}\r\n"
        f"m=audio {audio_port} RTP/AVP {OPUS_PT}\r\n"
        f"a=rtpmap:{OPUS_PT} opus/48000/2\r\n"
    )


class HlsPackager(_FfmpegChild):
    """ffmpeg reading the programme's RTP on ``host`` and writing a live HLS playlist into ``out_dir``.

    :param name: the programme's name; names the folder, the SDP file and the log.
    :param video_port, audio_port: where the RTP arrives (even ports; +1 of each is RTCP, keep it free).
    :param out_dir: where ``index.m3u8`` and ``seg_NNNNN.ts`` go; default ``var/hls/<name>/``.
    :param segment_seconds: target segment length (segments are cut at keyframes).
    :param list_size: segments kept in the playlist; older files are deleted.
    :param work_dir: where the SDP file and the log go; default ``var/media/``.
    """

    PLAYLIST = "index.m3u8"

    def __init__(
        self,
        name: str,
        video_port: int,
        audio_port: int,
        out_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        segment_seconds: float = 1.0,
        list_size: int = 6,
        audio_bitrate: str = "96k",
        work_dir: Path | str | None = None,
        keep_all: bool = False,
    ) -> None:
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise MediaError(f"programme name {name!r} must be letters, digits, '-' or '_'")
        if abs(video_port - audio_port) < 2:
            raise MediaError("video and audio ports must be at least 2 apart (RTCP uses port + 1)")
        self.name = name
        self.video_port = int(video_port)
        self.audio_port = int(audio_port)
        self.host = host
        self.out_dir = Path(out_dir) if out_dir is not None else default_var_dir() / "hls" / name
        self.work_dir = Path(work_dir) if work_dir is not None else default_var_dir() / "media"
        self.segment_seconds = segment_seconds
        self.list_size = int(list_size)
        self.audio_bitrate = audio_bitrate
        # keep_all: the recording (live.recording): every segment kept, an EVENT playlist that
        # live.recording.finalize turns into VOD; else the live window of list_size segments.
        self.keep_all = keep_all
        self.fed = False  # a source has been forwarded to it (the runtime's mark; new_source() after that)
        super().__init__(self.work_dir / f"hls-{name}.log")

    @property
    def sdp_path(self) -> Path:
        """The SDP file ffmpeg reads."""
        return self.work_dir / f"hls-{self.name}.sdp"

    @property
    def playlist_path(self) -> Path:
        """Where the live playlist is written."""
        return self.out_dir / self.PLAYLIST

    @property
    def playlist(self) -> Path | None:
        """The playlist once ffmpeg has written one, else None."""
        return self.playlist_path if self.playlist_path.exists() and self.playlist_path.stat().st_size else None

    def segments(self) -> list[Path]:
        """The segment files present now, oldest first."""
        return sorted(self.out_dir.glob("seg_*.ts"))

    def command(self) -> list[str]:
        """The ffmpeg command line."""
        return [
            FFMPEG_BINARY, "-hide_banner", "-loglevel", "warning", "-nostdin",
            "-protocol_whitelist", "file,udp,rtp",
            "-fflags", "+genpts", "-analyzeduration", "1500000", "-probesize", "1000000",
            "-reorder_queue_size", "64",
            "-i", str(self.sdp_path),
            "-map", "0:v:0", "-map", "0:a:0?",
            "-c:v", "copy",
            "-c:a", "aac", "-b:a", self.audio_bitrate, "-ar", "48000", "-ac", "2",
            "-f", "hls",
            "-hls_time", f"{self.segment_seconds:g}",
            *self._window(),
            "-hls_segment_filename", str(self.out_dir / "seg_%05d.ts"),
            str(self.playlist_path),
        ]  # fmt: skip

    def _window(self) -> list[str]:
        """The playlist's kind: a sliding live window, or (``keep_all``) every segment of a recording."""
        # append_list: after new_source() the playlist goes on (numbering kept, a DISCONTINUITY tag at
        # the join) instead of starting over.
        if self.keep_all:
            return ["-hls_list_size", "0", "-hls_playlist_type", "event",
                    "-hls_flags", "temp_file+program_date_time+independent_segments+omit_endlist+append_list"]
        return ["-hls_list_size", str(self.list_size), "-hls_delete_threshold", "2", "-hls_flags",
                "delete_segments+temp_file+program_date_time+independent_segments+omit_endlist+append_list"]

    def start(self, *, fresh: bool = True) -> None:
        """Write the SDP file and start ffmpeg; ``fresh`` first clears the folder of an earlier run."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            for stale in [*self.out_dir.glob("seg_*.ts"), *self.out_dir.glob("*.m3u8"), *self.out_dir.glob("*.tmp")]:
                stale.unlink(missing_ok=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        sdp = programme_sdp(self.video_port, self.audio_port, host=self.host, name=self.name)
        self.sdp_path.write_bytes(sdp.encode())  # CRLF line ends kept as SDP wants them
        self._spawn(self.command(), f"HLS packager {self.name}")

    def new_source(self) -> None:
        """Restart ffmpeg after the programme's source changed; the playlist continues after a discontinuity.

        Re-pointing the forwarders to another publisher gives ffmpeg a new SSRC, new sequence numbers
        and new timestamps; read as one stream, that makes a segment hours long (a 46,134 s EXTINF was
        seen). A new ffmpeg appends to the playlist instead: numbering goes on and the first new
        segment is marked ``#EXT-X-DISCONTINUITY``, which players follow. Viewers see about two
        seconds without a new segment (ffmpeg probing the new source).
        """
        self.stop()
        self.start(fresh=False)

    def wait_for_playlist(self, timeout: float = 15.0, segments: int = 1) -> Path:
        """Wait until the playlist lists at least ``segments`` segments; return its path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            playlist = self.playlist
            if playlist is not None:
                with contextlib.suppress(FileNotFoundError):
                    if playlist.read_text().count("#EXTINF") >= segments:
                        return playlist
            if not self.running:
                raise MediaError(f"HLS packager {self.name} exited:\n{self.log_tail()}")
            time.sleep(0.05)
        raise MediaError(f"HLS packager {self.name} wrote no playlist within {timeout} s:\n{self.log_tail()}")

    def _describe(self) -> str:
        return f"{self.name} rtp:{self.video_port}/{self.audio_port}"
