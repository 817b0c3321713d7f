"""The live runtime: owns (or watches) the Janus nodes and keeps them doing what the database says.

One runtime per conference on air, each in its lane on the shared nodes (``layout.py``); the day's
runtime (``runtime_day.py``, ``run_live``, one active per deployment: it holds the lease) starts one for
every conference of the day, or a test builds one alone. It

- starts the root and the edges with :class:`JanusNode` (or attaches to nodes someone else runs),
  and writes each node's URLs and secrets to :class:`LiveNode` for the web process;
- adopts the edges media hosts' agents registered (``node_agent.py``, ``node_registry.py``): they are
  provisioned over the network and fed at their private address (:class:`RemoteJanus`);
- polls every node (``info`` and the programme mountpoint) several times a second; a node that
  stops answering is marked down on the board; a node that answers but lost its state (Janus keeps
  nothing across a restart) is provisioned again: the VideoRoom on the root, the programme
  mountpoints everywhere, every valid token;
- follows ``Programme.version`` in a loop of its own, woken by the switch's commit (``wakeup.py``,
  PostgreSQL NOTIFY; every ``tick`` otherwise): the chosen source is forwarded from the root's room to the
  programme mountpoints of the root and of every edge (``rtp_forward``; old forwarders stopped
  first), and the new source is asked for a keyframe at once (``keyframes.py``; also when an edge
  is re-pointed, and when a node's viewers go up: a kiosk joined or moved), so kiosks decode it
  without waiting for the next periodic one (``RootRoom._keyframe_clock``). A synthetic
  host (the demo's test pattern) is an ffmpeg process sending to the same ports.
  Viewers stay on their mountpoints and are never renegotiated;
- guards the root's room: only ids diemcau granted (the studio credentials', the floor grant's; see
  ``floor.granted_publishers``) are forwarded, every other participant is kicked at the next
  look of a guard of its own (``runtime_room.py``, every ``GUARD_EVERY``, not held up by the programme's work), and the
  room's ``allowed`` list holds only the tokens that may join now;
- keeps every node's tokens equal to the valid ones: expired and revoked tokens are removed (also
  those the web process could not remove), missing valid ones added, every ``TOKEN_SYNC`` seconds.

Run it with ``manage.py run_live`` (the demo does), or build :class:`LiveRuntime` in tests (alone,
it starts, registers and restarts its nodes itself; ``shared=True`` leaves that to the day's runtime).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connections

from diemcau.core import metrics
from diemcau.core.acting import system_scope

from .janus_client import VIDEOROOM, JanusAdmin, JanusClient, JanusError, JanusUnreachable
from .janus_node import JanusNode
from .janus_plugins import Streaming, VideoRoom
from .keyframes import Keyframes
from .media import SyntheticFeed
from .runtime_adopt import Adoption, runtime_secret
from .runtime_announce import AnnouncedSwitch
from .runtime_outputs import ProgrammeOutputs
from .runtime_room import RootRoom
from .wakeup import Listener

log = logging.getLogger("diemcau.live.runtime")

NO_SUCH_MOUNTPOINT = 455
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428
TOKEN_SYNC = 2.0  # seconds between two reconciliations of a node's tokens with the valid ones
WATCH_TIMEOUT = 1.5  # seconds a node has to answer ``info`` (3 misses: down): a dead host is seen within ~5 s
LOCATE_EVERY = 3.0  # seconds between two Admin API walks for publishers' handles
ADOPT_EVERY = 2.0  # seconds between two looks for nodes media hosts' agents registered
KEYFRAME_AGAIN = 0.3  # seconds after a switch when the new source is asked for a keyframe once more


def _fresh_agent_nodes(registry) -> list:
    close_old_connections()
    return registry.fresh_agent_nodes()


def _as_system(fn, *args):
    with system_scope("media runtime: follows every conference's programme and nodes"):
        return fn(*args)

@dataclass
class NodeSpec:
    """A node the runtime should have: name, role, first port, and (edges) the point it sits at."""

    name: str
    base_port: int
    role: str = "edge"
    point_id: int | None = None
    capacity: int = 50


@dataclass
class RemoteJanus:
    """A node an agent runs on another host (``manage.py media_node``), as its LiveNode row says."""

    name: str
    http_url: str
    ws_url: str
    admin_url: str
    api_secret: str
    admin_secret: str
    admin_key: str

    @classmethod
    def from_row(cls, row) -> RemoteJanus:
        return cls(row.name, row.http_url, row.ws_url, row.admin_url, row.api_secret, row.admin_secret,
                   row.admin_key)

    def is_running(self) -> bool:
        return True  # its agent supervises it; the runtime only sees whether it answers


@dataclass
class _Node:
    spec: NodeSpec
    janus: JanusNode | RemoteJanus
    owned: bool
    address: str = "127.0.0.1"  # where its Admin API and the programme's RTP are reached
    row_id: int | None = None
    client: JanusClient | None = None
    room: VideoRoom | None = None
    streaming: Streaming | None = None
    up: bool | None = None
    provisioned: bool = False
    epoch: int = 0          # bumped at each provisioning: forwarders into it must be made again
    failures: int = 0
    viewers: int = 0        # the programme mountpoint's viewers at the last look (metrics)
    tokens_at: float = 0.0  # loop time of the last token reconciliation
    lane: int = 0           # the conference's lane on the node (layout.py): its mountpoints and ports

    def connect(self) -> None:
        """Clients for the node's Janus API (with its api_secret) and its two plugins."""
        self.client = JanusClient(self.janus.http_url, api_secret=self.janus.api_secret, timeout=3.0)
        self.room = VideoRoom(self.client, self.janus.admin_key)
        self.streaming = Streaming(self.client, self.janus.admin_key)

    def port(self, slot: str) -> tuple[int, int]:
        from .layout import port_offsets

        v, a = port_offsets(slot, self.lane)
        return self.spec.base_port + v, self.spec.base_port + a


@dataclass
class _Slot:
    """What one programme slot (main, side) is carrying now."""

    source: tuple | None = None
    targets: tuple = ()
    forwarders: list[tuple[int, int]] = field(default_factory=list)  # (publisher id, stream id) on the root
    stale: list[tuple[int, int]] = field(default_factory=list)  # found at a takeover, not wanted: to stop
    feed: Any = None


class LiveRuntime(ProgrammeOutputs, Adoption, RootRoom, AnnouncedSwitch):
    """Keeps one conference's nodes and programme in the state the database asks for.

    :param conference_id: the conference on air.
    :param specs: the nodes; exactly one ``role="root"``.
    :param nodes: already running ``JanusNode`` objects to attach to (by name) instead of starting them.
    :param synthetic_host: a test pattern stands in for the host while no studio publishes.
    :param hls_dir: if set (and ``live.media.HlsPackager`` exists), the programme is also packaged as HLS there.
    :param record: record the programme of the session on now (``live.recording``), one recording per session.
    :param folder: where owned nodes keep their folders (default ``var/janus``).
    :param tick: seconds between two looks at the nodes and the programme.
    :param lane: the conference's lane on the nodes (``layout.py``: mountpoint ids and ports; 0 when alone).
    :param shared: the nodes are the day's (``runtime_day.DayRuntime`` registers, starts and watches
        the processes, and wakes this runtime): their rows are only read, none is deleted.
    """

    def __init__(self, conference_id: int, specs: list[NodeSpec], *, nodes: dict[str, JanusNode] | None = None,
                 synthetic_host: bool = True, hls_dir: Path | None = None, folder: Path | None = None,
                 record: bool = False, lane: int = 0, shared: bool = False,
                 tick: float = 0.2, feed_size: tuple[int, int] = (640, 360)) -> None:
        roots = [s for s in specs if s.role == "root"]
        if len(roots) != 1:
            raise ValueError("exactly one root node")
        from . import layout as live_layout

        self.conference_id = conference_id
        self.lane, self.shared = lane, shared
        self.mountpoints = {slot: live_layout.mountpoint(slot, lane) for slot in ("main", "side")}
        self.synthetic_host = synthetic_host
        self.hls_dir = Path(hls_dir) if hls_dir else None
        self.record = record
        self.recording = None  # (Recording row, its packager) while a session is recorded
        self.tick = tick
        self.feed_size = feed_size
        self.nodes: list[_Node] = []
        for spec in specs:
            given = (nodes or {}).get(spec.name)
            janus = given or JanusNode(spec.name, spec.base_port, die_with_parent=False,
                                       folder=(folder / spec.name) if folder else None)
            self.nodes.append(_Node(spec=spec, janus=janus, owned=given is None, lane=lane))
        self.root = next(n for n in self.nodes if n.spec.role == "root")
        # The same in a standby (runtime_adopt.py): it adopts the room and mountpoints at a takeover.
        self.room_secret = runtime_secret("room", conference_id)
        self.mount_secret = runtime_secret("mountpoints", conference_id)
        # The runtime's own pass into the room's allowed list (it joins to read publishers' streams).
        self.room_token = runtime_secret("room-token", conference_id)
        self._allowed: set[str] | None = None  # the room's allowed list as last set (None: unknown)
        self._own_ids: set[int] = set()        # ids the runtime itself joined as (never kicked)
        self._granted: set[int] | None = None  # ids that may be in the room, as last read (None: not yet)
        self._guard_room: VideoRoom | None = None
        self.keyframes: Keyframes | None = None  # asks a new source for a keyframe (root's handles)
        self._locating: asyncio.Task | None = None
        self._adopted_at = -ADOPT_EVERY
        self._located_at = -LOCATE_EVERY
        self._joined = False  # a node's viewers went up since the last keyframe request for joiners
        self.kicked: list[tuple[int, float]] = []  # (publisher id, loop time) of the last kicks
        self.slots = {"main": _Slot(), "side": _Slot()}
        self.applied_version: int | None = None
        self.hls = None
        self._publishers_cache: dict[int, dict[str, str]] | None = None
        self._publishers_at = 0.0
        self._stop = asyncio.Event()
        self.releasing = False  # release(): the nodes are cleared of the conference at shutdown
        self.keeps_tokens = True  # shared: one conference's runtime keeps the nodes' tokens (the day says which)
        self._wake = asyncio.Event()  # the programme changed (wakeup.Listener) or a node was provisioned
        self._busy = asyncio.Lock()   # provisioning a node and applying the programme never interleave
        self.listener = None if shared else Listener(self.wake)  # shared: the day's listener wakes it
        self._db = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-db")
        self.switch_log: list[dict] = []  # (version, seconds) of the last switches, for benchmarks
        self._trace: dict | None = None
        self._last_read: tuple[float, dict] | None = None  # (time.monotonic(), _desired()) of the last read
        self._keyframe_again: asyncio.Task | None = None
        # The hook for more receivers of a slot's programme (e.g. the renditions' encoders at the
        # root): (host, video port, audio port) per slot, forwarded like the nodes' mountpoints.
        # Whoever changes it sets that slot's ``source`` to None so the forwarders are made again.
        self.extra_targets: dict[str, list[tuple[str, int, int]]] = {"main": [], "side": []}

    # --- life -----------------------------------------------------------------------------------
    def start_nodes(self) -> None:
        """Start the nodes this runtime owns (from the calling thread: they die with it)."""
        for node in self.nodes:
            if node.owned and not node.janus.is_running():
                node.janus.start()

    def stop(self) -> None:
        self._stop.set()

    def release(self) -> None:
        """Stop, and take the conference's room and mountpoints off the nodes (its day is over)."""
        self.releasing = True
        self._stop.set()

    def wake(self, conference_id: int | None = None) -> None:
        """Look at the programme now (``conference_id``: the one that changed; None: whichever)."""
        if conference_id is None or conference_id == self.conference_id:
            self._wake.set()

    async def run(self) -> None:
        """Register the nodes, then watch them and the programme until :meth:`stop`."""
        await self._orm(self._register_nodes)
        for node in self.nodes:
            node.connect()
        self._guard_room = VideoRoom(self.root.client, self.root.janus.admin_key)
        self.keyframes = Keyframes(self.root.client, self.root.janus.admin_url, self.root.janus.admin_secret)
        self._start_hls()
        helpers = [asyncio.create_task(self._guard()), asyncio.create_task(self._programme_loop()),
                   asyncio.create_task(self._keyframe_clock())]
        if self.listener is not None:
            helpers.append(asyncio.create_task(self.listener.run()))
        try:
            while not self._stop.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.tick)
        finally:
            for task in helpers:
                task.cancel()
            for task in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):  # the shutdown below must run
                    await task
            await self.shutdown()

    async def _programme_loop(self) -> None:
        """Follow the recording and the programme: at once when woken (a switch), else every ``tick``."""
        while True:
            self._wake.clear()
            if any(n.up is None for n in self.nodes):  # every node looked at (adopted) first
                await asyncio.sleep(self.tick)
                continue
            try:
                async with self._busy:
                    if self._announcement() is None:  # a switch announced goes first (recording: right after)
                        await self._follow_recording()
                    await self._follow_programme()
            except Exception:  # one bad look (a node gone mid-request) must not end the programme's loop
                log.exception("following the programme failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)

    async def _orm(self, fn, *args):
        """Run ORM code on the runtime's one database thread (a thread starts with no scope: the system's)."""
        return await asyncio.get_running_loop().run_in_executor(self._db, _as_system, fn, *args)

    async def shutdown(self) -> None:
        if self._keyframe_again is not None:
            self._keyframe_again.cancel()
        for slot in self.slots.values():
            if slot.feed is not None:
                slot.feed.stop()
                slot.feed = None
        if self.hls is not None:
            with contextlib.suppress(Exception):
                self.hls.stop()
        await self._end_recording()
        if self.releasing:
            await self._clear_nodes()
        if self._guard_room is not None:
            with contextlib.suppress(Exception):
                await self._guard_room.close()
        for node in self.nodes:
            for part in (node.room, node.streaming):
                if part is not None:
                    with contextlib.suppress(Exception):
                        await part.close()
            if node.client is not None:
                await node.client.aclose()
            if node.owned:
                await asyncio.to_thread(node.janus.stop)
        await self._orm(connections.close_all)
        self._db.shutdown(wait=True)

    async def step(self) -> None:
        """One look at the nodes: health and provisioning, tokens (the programme has its own loop)."""
        await self._adopt_agent_nodes()
        await asyncio.gather(*(self._look_at(node) for node in list(self.nodes)))
        if self.shared:
            return  # the day's runtime counts the nodes once for every conference
        metrics.JANUS_NODES_UP.set(sum(1 for n in self.nodes if n.up is True))
        metrics.LIVE_VIEWERS.set(sum(n.viewers for n in self.nodes if n.up is True))

    # --- nodes ----------------------------------------------------------------------------------
    def _register_nodes(self) -> None:
        from .models import LiveNode

        close_old_connections()
        if self.shared:  # the day's runtime wrote the rows: only find them
            ids = dict(LiveNode.objects.filter(name__in=[n.spec.name for n in self.nodes]).values_list("name", "pk"))
            for node in self.nodes:
                node.row_id = ids[node.spec.name]
            return
        for node in self.nodes:
            j = node.janus
            row, _ = LiveNode.objects.update_or_create(name=node.spec.name, defaults={
                "role": node.spec.role, "base_port": node.spec.base_port, "capacity": node.spec.capacity,
                "point_id": node.spec.point_id, "ws_url": j.ws_url, "http_url": j.http_url,
                "admin_url": j.admin_url, "api_secret": j.api_secret, "admin_secret": j.admin_secret,
                "admin_key": j.admin_key, "state": LiveNode.State.UNKNOWN})
            node.row_id = row.pk
        # Nodes of an earlier run that this runtime does not have are gone (media hosts' agents
        # register their own nodes and keep them).
        LiveNode.objects.exclude(name__in=[n.spec.name for n in self.nodes]).filter(agent=False).delete()

    async def _adopt_agent_nodes(self) -> None:
        """Take on the edges media hosts' agents registered (checked every ``ADOPT_EVERY`` seconds).

        A node seen for the first time, or whose agent came back with new secrets, is connected and
        provisioned at this look; the forwarders then include its private address.
        """
        from . import node_registry

        now = asyncio.get_running_loop().time()
        if now - self._adopted_at < ADOPT_EVERY:
            return
        self._adopted_at = now
        rows = await self._orm(_fresh_agent_nodes, node_registry)
        known = {n.spec.name: n for n in self.nodes}
        for row in rows:
            if row.role != "edge":
                continue  # the root is the runtime's own (see NodeSpec); a remote root is not adopted
            remote = RemoteJanus.from_row(row)
            node = known.get(row.name)
            if node is not None and (node.owned or node.janus == remote):
                continue
            if node is None:
                node = _Node(spec=NodeSpec(row.name, row.base_port, point_id=row.point_id, capacity=row.capacity),
                             janus=remote, owned=False, lane=self.lane)
                self.nodes.append(node)
                log.info("adopted %s at %s (%s)", row.name, row.private_address, row.ws_url)
            elif node.client is not None:
                await node.client.aclose()
            node.janus, node.address, node.row_id = remote, row.private_address, row.pk
            node.provisioned, node.failures = False, 0
            node.connect()

    async def _look_at(self, node: _Node) -> None:
        await self._watch(node)
        if node.up and node.provisioned and self.keeps_tokens:
            await self._sync_tokens(node)

    def _set_state(self, node: _Node, up: bool, detail: str = "") -> None:
        from . import nodes as live_nodes
        from .models import LiveNode

        close_old_connections()
        row = LiveNode.objects.get(pk=node.row_id)
        live_nodes.set_node_state(row, LiveNode.State.UP if up else LiveNode.State.DOWN, detail=detail)

    async def _watch(self, node: _Node) -> None:
        if node.owned and not node.janus.is_running():
            # A node we own died: start it again (same ports and secrets), as systemd would.
            with contextlib.suppress(Exception):
                await asyncio.to_thread(node.janus.start)
        missing = False
        try:
            await asyncio.wait_for(node.client.info(), WATCH_TIMEOUT)
            # The programme mountpoint is the mark of a provisioned node: after a restart it is gone.
            info = await node.streaming.info(self.mountpoints["main"], secret=self.mount_secret)
            viewers = int(info.get("viewers") or 0)
            if viewers > node.viewers:
                self._joined = True  # a kiosk joined (or moved here): it decodes from the next keyframe
            node.viewers = viewers
        except JanusError as exc:
            if exc.code != NO_SUCH_MOUNTPOINT:
                await self._failed(node, str(exc))
                return
            missing = True
        except (JanusUnreachable, OSError, TimeoutError) as exc:
            await self._failed(node, str(exc) or "no answer")
            return
        node.failures = 0
        if missing or not node.provisioned:
            try:
                async with self._busy:
                    await self._provision(node)
                self._wake.set()  # forward the programme to it now
            except (JanusError, JanusUnreachable, OSError) as exc:
                log.warning("provisioning %s failed: %s", node.spec.name, exc)
                await self._failed(node, str(exc))
                return
        if node.up is not True:
            node.up = True
            await self._orm(self._set_state, node, True)

    async def _failed(self, node: _Node, detail: str) -> None:
        """One failed look; three in a row (a busy machine can miss one) and the node is down."""
        node.failures += 1
        if node.failures < 3 or node.up is False:
            return
        node.provisioned = False
        node.up = False
        log.warning("node %s is down: %s", node.spec.name, detail)
        await self._orm(self._set_state, node, False, detail)

    async def _provision(self, node: _Node) -> None:
        """Make the node's state again: room (root), programme mountpoints, tokens."""
        from . import layout as live_layout

        if node.epoch == 0 and await self._adopt(node):
            await self._add_tokens(node)
            return
        if node is self.root:
            with contextlib.suppress(JanusError):
                await node.room.destroy(live_layout.room_id(self.conference_id), secret=self.room_secret)
            await node.room.create(live_layout.room_id(self.conference_id), secret=self.room_secret,
                                   description="diemcau", publishers=64, videocodec="h264",
                                   audiocodec="opus", h264_profile="42e01f",
                                   bitrate=800_000, lock_record=True, allowed=[self.room_token])
            self._allowed = None
        for slot, mp in self.mountpoints.items():
            v, a = node.port(slot)
            with contextlib.suppress(JanusError):
                await node.streaming.destroy(mp, secret=self.mount_secret)
            await node.streaming.create_rtp(mp, video_port=v, audio_port=a, secret=self.mount_secret,
                                            description=f"programme {slot}", iface=node.address)
        await self._add_tokens(node)

    async def _clear_nodes(self) -> None:
        """Destroy the conference's room (its forwarders with it) and its lane's mountpoints on every node up."""
        from . import layout as live_layout

        for node in self.nodes:
            if not node.up or node.streaming is None:
                continue
            with contextlib.suppress(JanusError, JanusUnreachable, OSError, TimeoutError):
                if node is self.root:
                    await node.room.destroy(live_layout.room_id(self.conference_id), secret=self.room_secret)
                for slot in ("main", "side", "low", "audio"):
                    with contextlib.suppress(JanusError):  # not made (renditions off): 455
                        await node.streaming.destroy(live_layout.mountpoint(slot, self.lane), secret=self.mount_secret)
        log.info("conference %s released from the nodes (lane %s)", self.conference_id, self.lane)

    async def _add_tokens(self, node: _Node) -> None:
        """Give a node every valid token; it is provisioned then."""
        tokens = await self._orm(self._tokens_for, node)
        async with JanusAdmin(node.janus.admin_url, node.janus.admin_secret, timeout=3.0) as admin:
            for token, plugins in tokens:
                await admin.add_token(token, plugins)
        node.provisioned = True
        node.tokens_at = asyncio.get_running_loop().time()
        node.epoch += 1
        log.info("node %s provisioned (epoch %s, %s tokens)", node.spec.name, node.epoch, len(tokens))

    def _tokens_for(self, node: _Node) -> list[tuple[str, list[str]]]:
        from . import tokens as live_tokens
        from .models import LiveNode

        close_old_connections()
        row = LiveNode.objects.get(pk=node.row_id)
        return [(t.token, list(t.plugins)) for t in live_tokens.valid_tokens(row)]

    async def _sync_tokens(self, node: _Node) -> None:
        """Make the node's tokens the valid ones: remove expired and revoked ones, add missing ones."""
        now = asyncio.get_running_loop().time()
        if now - node.tokens_at < TOKEN_SYNC:
            return
        node.tokens_at = now
        try:
            wanted = dict(await self._orm(self._tokens_for, node))
            async with JanusAdmin(node.janus.admin_url, node.janus.admin_secret, timeout=3.0) as admin:
                present = await admin.list_tokens()
                for token in set(present) - set(wanted):
                    await admin.remove_token(token)
                for token in set(wanted) - set(present):
                    await admin.add_token(token, wanted[token])
        except (JanusError, JanusUnreachable, OSError) as exc:
            log.warning("token sync on %s failed: %s", node.spec.name, exc)

    # --- the programme --------------------------------------------------------------------------
    def _desired(self) -> dict:
        """The programme row and what may be in the root's room: granted ids and allowed tokens."""
        from . import floor as live_floor
        from .models import Programme

        close_old_connections()
        prog = Programme.objects.filter(conference_id=self.conference_id).first()
        granted = live_floor.granted_publishers(self.conference_id)
        want = {"version": 0, "source": Programme.Source.HOST, "point_id": None, "studio": granted["studio"],
                "point_pub": None, "floor_pub": granted["point"][1] if granted["point"] else None,
                "floor_point": granted["point"][0] if granted["point"] else None,
                "tokens": live_floor.room_tokens(self.conference_id) | {self.room_token}}
        if prog is not None:
            want.update(version=prog.version, source=prog.source, point_id=prog.point_id)
        if granted["point"] and granted["point"][0] == want["point_id"]:
            want["point_pub"] = granted["point"][1]
        return want

    async def _publishers(self) -> dict[int, dict[str, str]]:
        """Publishers in the root's room, with the mid of their audio and video streams."""
        from . import layout as live_layout

        session = await self.root.client.create_session()
        try:
            handle = await session.attach(VIDEOROOM)
            # Its own id, known to the guard before the join, so the guard never kicks the runtime.
            own = live_layout.new_publisher_id()
            self._own_ids = {*list(self._own_ids)[-7:], own}
            data, _ = await handle.message({"request": "join", "ptype": "publisher", "id": own,
                                            "room": live_layout.room_id(self.conference_id),
                                            "display": "diemcau-runtime", "token": self.room_token}, timeout=3.0)
            found = {}
            for pub in data.get("publishers", []):
                mids = {}
                for stream in pub.get("streams", []):
                    if stream.get("type") in ("audio", "video") and not stream.get("disabled"):
                        mids.setdefault(stream["type"], stream["mid"])
                found[int(pub["id"])] = mids
            return found
        finally:
            await session.destroy()

    async def _follow_programme(self) -> None:
        from .models import Programme

        if not self.root.up or not self.root.provisioned:
            return
        desired = self._announced_switch()
        announced = desired is not None
        if desired is None:
            desired, announced = await self._read_desired()
        version, source = desired["version"], desired["source"]
        self._trace = ({"version": version, "seen_at": time.time(), "announced": announced}
                       if version != self.applied_version else None)
        # The floor's publisher stays granted while the programme shows the host (the director
        # switches back and forth): kicking it would make every switch back wait for its rejoin.
        granted = {*desired["studio"], *([desired["floor_pub"]] if desired["floor_pub"] else [])}
        self._granted = granted
        try:
            await self._set_allowed(desired["tokens"])
        except (JanusError, JanusUnreachable, TimeoutError, OSError) as exc:
            log.warning("cannot set the room's allowed tokens: %s", exc)
        now = asyncio.get_running_loop().time()
        stale = now - self._publishers_at > 1.0
        missing = bool(desired["point_pub"]) and desired["point_pub"] not in (self._publishers_cache or {})
        off_air = self.slots["main"].source is None  # nothing on air yet: look at every tick
        # The guard task may forget the listing (a kick) while this one awaits: keep our own copy.
        listing = self._publishers_cache
        # A switch uses the listing of the last second (the guard forgets it at a kick): listing the
        # room means joining it, four requests on the switch's path.
        switching = version != self.applied_version  # a switch forwards from the last listing (refreshed after)
        if (stale and not switching) or missing or off_air or listing is None:
            try:
                listing = self._publishers_cache = await self._publishers()
                self._publishers_at = now
                if stale:
                    await self._check_forwarders()
            except (JanusError, JanusUnreachable, TimeoutError, OSError) as exc:
                log.warning("cannot list publishers: %s", exc)
                return
        # Only granted ids are forwarded, whatever else the listing holds (a squatter not yet kicked).
        publishers = {pid: mids for pid, mids in listing.items() if pid in granted}
        self._locate_handles(set(publishers))
        studio = next((pid for pid in desired["studio"] if pid in publishers), None)
        host = ("pub", studio) if studio is not None else (("feed",) if self.synthetic_host else None)
        point = ("pub", desired["point_pub"]) if desired["point_pub"] else None
        if point and point[1] not in publishers:
            point = None  # granted but not publishing (yet): the host stays on air, look again
        want = {"main": host, "side": None}
        if source == Programme.Source.POINT and point:
            want = {"main": point, "side": None}
        elif source == Programme.Source.BOTH and point:
            want = {"main": host, "side": point}
        up_nodes = tuple((n.spec.name, n.epoch) for n in self.nodes if n.up)
        started = asyncio.get_running_loop().time()
        changed = False
        for slot_name in ("side", "main"):  # free the ports first, then fill them
            changed |= await self._apply_slot(slot_name, want[slot_name], up_nodes, publishers)
        self._adopted()
        if self._joined and not changed:
            await self._keyframe_for_joiners()
        self._joined = False
        if changed and version != self.applied_version:
            self.switch_log.append({**(self._trace or {}), "version": version,
                                    "seconds": asyncio.get_running_loop().time() - started, "done_at": time.time()})
            self.switch_log = self.switch_log[-50:]
        self.applied_version = version

    async def _keyframe_for_joiners(self) -> None:
        """Kiosks joined a mountpoint: ask the sources on air for a keyframe (bufferkf alone shows nothing)."""
        from . import layout as live_layout

        for slot in self.slots.values():
            if slot.source and slot.source[0] == "pub":
                with contextlib.suppress(JanusError, JanusUnreachable, TimeoutError, OSError):
                    await self.keyframes.ask(live_layout.room_id(self.conference_id), slot.source[1])

    def _locate_handles(self, publishers: set[int]) -> None:
        """Find the granted publishers' handles beforehand (in a task), so a switch only sends the request."""
        from . import layout as live_layout

        self.keyframes.forget(publishers)
        busy = self._locating is not None and not self._locating.done()
        now = asyncio.get_running_loop().time()
        # One Admin API walk every LOCATE_EVERY at most: a publisher not found yet is looked for again later.
        if busy or not publishers - set(self.keyframes.handles) or now - self._located_at < LOCATE_EVERY:
            return
        self._located_at = now

        async def locate() -> None:
            try:
                await self.keyframes.locate(live_layout.room_id(self.conference_id), publishers)
            except (JanusError, JanusUnreachable, TimeoutError, OSError) as exc:
                log.debug("cannot locate publishers' handles: %s", exc)

        self._locating = asyncio.create_task(locate())

    async def _apply_slot(self, slot_name: str, want: tuple | None, up_nodes: tuple,
                          publishers: dict[int, dict[str, str]]) -> bool:
        from . import layout as live_layout

        slot = self.slots[slot_name]
        if slot.source == want and slot.targets == up_nodes and (want != ("feed",) or slot.feed is not None):
            return False
        room = live_layout.room_id(self.conference_id)
        if self._adopt_slot(slot, slot_name, want, up_nodes):  # a takeover: what runs is right, kept
            await self._stop_stale(room, slot)
            return False
        old, slot.forwarders = slot.forwarders, []
        if slot.feed is not None or want is None or want[0] != "pub":  # else stopped by the swap below
            await self._stop_forwarders(room, old)
            old = []
        if (slot.feed is not None and want != ("feed",)) or (slot.feed is not None and slot.targets != up_nodes):
            await asyncio.to_thread(slot.feed.stop)
            slot.feed = None
        targets = self._targets(slot_name)
        if want == ("feed",):
            if slot.feed is None:
                slot.feed = SyntheticFeed.programme_host(targets, self.feed_size)
                await asyncio.to_thread(slot.feed.start)
        elif want is not None:
            pub_id = want[1]
            made = await self._swap_forwarders(room, old, pub_id, publishers.get(pub_id, {}), targets)
            if made is None:
                slot.source = None  # try again at the next look
                return True
            slot.forwarders = made
            if slot.forwarders:
                # Kiosks decode the new forward from its next keyframe: ask for one now (a switch, or an
                # edge re-pointed), not the next periodic one; and once more 0.3 s after, should the source
                # have ignored the first (Chromium obeys one request per 300 ms: keyframes.py).
                await self._ask_keyframe(room, pub_id)
                self._keyframe_again = asyncio.create_task(self._ask_keyframe(room, pub_id, KEYFRAME_AGAIN))
        if slot_name == "main" and slot.source != want:
            await self._programme_source_changed()
        slot.source, slot.targets = want, up_nodes
        return True
