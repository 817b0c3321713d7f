"""One live runtime for every conference of the day (the day's runtime), on one set of Janus nodes.

``run_live`` (one per deployment, plus a standby waiting on the lease) runs a :class:`DayRuntime`:

- it starts the nodes of this machine once (the root, the local edges) and writes their rows;
  media hosts' agents register theirs (``node_registry.py``). A node belongs to no conference: every
  conference on air has its room on the root and its mountpoints on every node, in its *lane*
  (``layout.py``: mountpoint ids and RTP ports per lane, ``Programme.lane``), so two conferences never
  share an id or a port;
- every ``LOOK_EVERY`` seconds (and at once when a programme of a conference it does not serve yet
  changes: ``wakeup.py``'s NOTIFY) it looks at the conferences of today (the settings' time zone: the
  conference's date, or a session starting today), starts a :class:`~.runtime.LiveRuntime` for each
  new one (``shared=True``: it provisions its room and mountpoints, follows its programme, guards its
  room) and releases one whose day is over (its room and mountpoints are taken off the nodes);
- it restarts a node of this machine that died; each conference's runtime provisions it again;
- one wake-up listener for all: a switch wakes the runtime of its conference.

A standby (``run_live`` on another host) waits on the same lease (``lease.py``) and, holding it, does
the same: each conference's runtime finds its lane in ``Programme.lane`` and adopts its room,
mountpoints and forwarders (``runtime_adopt.py``). ``run_live --conference N`` serves that one alone
(``only``), whatever its date.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import json
import logging
from collections.abc import Callable
from pathlib import Path

from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from diemcau.core import metrics
from diemcau.core.acting import system_scope

from .janus_node import JanusNode
from .layout import LANES
from .runtime import LiveRuntime, NodeSpec
from .wakeup import Listener

log = logging.getLogger("diemcau.live.runtime")
# One line per switch applied, whatever the log level (a few an hour; kiosks.switch_phases reads them).
switch_log = logging.getLogger("diemcau.live.switches")
switch_log.setLevel(logging.INFO)

LOOK_EVERY = 5.0  # seconds between two looks at the conferences of the day


def conferences_of_day(day: datetime.date) -> list[int]:
    """The conferences held on ``day`` (local time): their date is ``day`` or one of their sessions starts
    then; and any with a session on now (one running past midnight is not cut off)."""
    from diemcau.events.models import Conference, Session

    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())
    end, now = start + datetime.timedelta(days=1), timezone.now()
    ids = set(Conference.objects.filter(date=day).values_list("pk", flat=True))
    ids |= set(Session.objects.filter(starts_at__gte=start, starts_at__lt=end).values_list("conference_id", flat=True))
    ids |= set(Session.objects.filter(starts_at__lte=now, ends_at__gt=now).values_list("conference_id", flat=True))
    return sorted(ids)


@transaction.atomic
def assign_lanes(conference_ids: list[int], kept: dict[int, int]) -> dict[int, int]:
    """Lanes for ``conference_ids`` served beside the ones in ``kept`` (conference -> lane, unchanged).

    A conference keeps the lane its programme row has (a standby finds what the active runtime
    made there) unless a conference already served has it; else it takes the smallest free lane.
    Conferences beyond :data:`~.layout.LANES` get none (left out of the result).
    """
    from .models import Programme

    for cid in conference_ids:  # made on first use, showing the host (as programme.programme does)
        Programme.objects.get_or_create(conference_id=cid)
    rows = {p.conference_id: p for p in Programme.objects.select_for_update().filter(conference_id__in=conference_ids)}
    taken = dict(kept)
    lanes: dict[int, int] = {}
    for cid in sorted(conference_ids):
        lane = rows[cid].lane
        if lane is not None and lane < LANES and lane not in taken.values():
            lanes[cid] = taken[cid] = lane
    for cid in sorted(set(conference_ids) - set(lanes)):
        free = [lane for lane in range(LANES) if lane not in taken.values()]
        if not free:
            log.error("conference %s: all %s lanes are in use; not served", cid, LANES)
            continue
        lanes[cid] = taken[cid] = free[0]
        Programme.objects.filter(pk=rows[cid].pk).update(lane=free[0])
    return lanes


def register_nodes(specs: list[NodeSpec], janus: dict[str, JanusNode]) -> None:
    """Write the rows of this machine's nodes; rows of an earlier run's nodes that are gone are deleted
    (media hosts' agents keep theirs)."""
    from .models import LiveNode

    close_old_connections()
    for spec in specs:
        j = janus[spec.name]
        LiveNode.objects.update_or_create(name=spec.name, defaults={
            "role": spec.role, "base_port": spec.base_port, "capacity": spec.capacity,
            "point_id": spec.point_id, "ws_url": j.ws_url, "http_url": j.http_url,
            "admin_url": j.admin_url, "api_secret": j.api_secret, "admin_secret": j.admin_secret,
            "admin_key": j.admin_key, "state": LiveNode.State.UNKNOWN, "agent": False})
    LiveNode.objects.exclude(name__in=[s.name for s in specs]).filter(agent=False).delete()


def _as_system(fn, *args):
    with system_scope("media runtime: serves every conference of the day"):
        return fn(*args)


class DayRuntime:
    """Serves every conference of the day (or ``only`` those) on one set of nodes; see the module docstring.

    :param specs: this machine's nodes; exactly one ``role="root"``.
    :param only: serve these conferences, whatever their date (``run_live --conference N``).
    :param nodes: already running ``JanusNode`` objects to use (by name) instead of starting them.
    :param folder: where the started nodes keep their folders.
    :param hls_dir: package each conference's programme as HLS (in ``hls_dir/<conference>`` when the
        day has several; in ``hls_dir`` itself for ``only`` one).
    :param today: the day's date (tests; default: today in the settings' time zone).
    :param runtime_options: passed to each :class:`LiveRuntime` (``synthetic_host``, ``record``, ``tick``...).
    """

    def __init__(self, specs: list[NodeSpec], *, only: list[int] | None = None,
                 nodes: dict[str, JanusNode] | None = None, folder: Path | None = None,
                 hls_dir: Path | None = None, look_every: float = LOOK_EVERY,
                 today: Callable[[], datetime.date] = timezone.localdate, **runtime_options) -> None:
        if len([s for s in specs if s.role == "root"]) != 1:
            raise ValueError("exactly one root node")
        self.specs, self.only, self.look_every, self.today = specs, only, look_every, today
        self.hls_dir = Path(hls_dir) if hls_dir else None
        self.runtime_options = runtime_options
        given = nodes or {}
        self.janus = {s.name: given.get(s.name) or JanusNode(s.name, s.base_port, die_with_parent=False,
                                                              folder=(folder / s.name) if folder else None)
                      for s in specs}
        self.owned = [name for name in self.janus if name not in given]
        self.runtimes: dict[int, LiveRuntime] = {}
        self.tasks: dict[int, asyncio.Task] = {}
        self.started: list[Callable[[LiveRuntime], None]] = []  # called with each conference's new runtime
        self.listener = Listener(self.wake)
        self._stop = asyncio.Event()
        self._look = asyncio.Event()
        self._db = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-day-db")

    # --- life -----------------------------------------------------------------------------------
    def start_nodes(self) -> None:
        """Start the nodes this runtime owns (from the calling thread: they die with it)."""
        for name in self.owned:
            if not self.janus[name].is_running():
                self.janus[name].start()

    def stop(self) -> None:
        self._stop.set()

    def wake(self, conference_id: int | None = None) -> None:
        """A programme changed: wake its conference's runtime; one not served yet makes the day looked at now."""
        runtime = self.runtimes.get(conference_id) if conference_id is not None else None
        if runtime is not None:
            runtime.wake()
        else:
            self._look.set()

    async def run(self) -> None:
        """Register the nodes, then serve the day's conferences until :meth:`stop`."""
        await self._orm(register_nodes, self.specs, self.janus)
        listening = asyncio.create_task(self.listener.run())
        switches = asyncio.create_task(self._log_switches())
        try:
            while not self._stop.is_set():
                self._look.clear()
                try:
                    await self.step()
                except Exception:  # the database away for a moment: look again later
                    log.exception("looking at the day's conferences failed")
                waits = [asyncio.create_task(self._stop.wait()), asyncio.create_task(self._look.wait())]
                await asyncio.wait(waits, timeout=self.look_every, return_when=asyncio.FIRST_COMPLETED)
                for task in waits:
                    task.cancel()
        finally:
            listening.cancel()
            switches.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listening
            for runtime in self.runtimes.values():
                runtime.stop()  # not released: a standby adopts what they made
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            for name in self.owned:
                await asyncio.to_thread(self.janus[name].stop)
            await self._orm(connections.close_all)
            self._db.shutdown(wait=True)

    async def _log_switches(self, every: float = 0.5) -> None:
        """Log each switch a conference's runtime applied (at any log level), with its phases (epoch
        seconds: ``seen_at``, ``stopping_at``, ``stopped_at``, ``forwarded_at``, ``done_at``), one JSON line
        each, so a runtime on a host of its own can be timed from outside (``cluster_switch_phases``)."""
        logged: dict[int, float] = {}
        while True:
            await asyncio.sleep(every)
            for cid, runtime in list(self.runtimes.items()):
                for entry in list(runtime.switch_log):
                    if entry.get("done_at", 0) > logged.get(cid, 0):
                        logged[cid] = entry["done_at"]
                        switch_log.info("switch applied %s", json.dumps({"conference": cid, **{
                            k: v for k, v in entry.items() if isinstance(v, int | float)}}))

    async def _orm(self, fn, *args):
        """Run ORM code on the day's one database thread (with the system's scope)."""
        return await asyncio.get_running_loop().run_in_executor(self._db, _as_system, fn, *args)

    # --- one look at the day -------------------------------------------------------------------------
    async def step(self) -> None:
        """Restart dead nodes, release the conferences whose day is over, start the new ones."""
        for name in self.owned:
            if not self.janus[name].is_running():  # as systemd would: same ports and secrets
                log.warning("node %s is not running: starting it again", name)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.janus[name].start)
        for cid, task in list(self.tasks.items()):
            if task.done():  # a runtime that ended by itself (an error): started again below
                with contextlib.suppress(asyncio.CancelledError):
                    if task.exception() is not None:
                        log.error("conference %s's runtime ended: %r", cid, task.exception())
                del self.tasks[cid], self.runtimes[cid]
        wanted = list(self.only) if self.only is not None else await self._orm(conferences_of_day, self.today())
        for cid in set(self.runtimes) - set(wanted):
            await self._release(cid)
        new = [cid for cid in wanted if cid not in self.runtimes]
        if new:
            kept = {cid: rt.lane for cid, rt in self.runtimes.items()}
            lanes = await self._orm(assign_lanes, new, kept)
            for cid in new:
                if cid in lanes:
                    self._start(cid, lanes[cid])
        # Every node's tokens are the same for all conferences (tokens.valid_tokens): one runtime keeps them.
        for cid, runtime in self.runtimes.items():
            runtime.keeps_tokens = cid == min(self.runtimes)
        self._count()

    def _start(self, cid: int, lane: int) -> None:
        hls_dir = self.hls_dir
        if hls_dir is not None and self.only is None:
            hls_dir = hls_dir / str(cid)  # live.hls.hls_folder(cid) serves it from there
        runtime = LiveRuntime(cid, self.specs, nodes=self.janus, hls_dir=hls_dir, lane=lane, shared=True,
                              **self.runtime_options)
        self.runtimes[cid] = runtime
        self.tasks[cid] = asyncio.create_task(runtime.run(), name=f"live-conference-{cid}")
        log.info("serving conference %s in lane %s", cid, lane)
        for hook in self.started:
            hook(runtime)

    async def _release(self, cid: int) -> None:
        """The conference's day is over: its runtime stops and takes its room and mountpoints off the nodes."""
        runtime = self.runtimes[cid]
        runtime.release()
        await asyncio.gather(self.tasks.pop(cid), return_exceptions=True)
        del self.runtimes[cid]
        log.info("conference %s released", cid)

    def _count(self) -> None:
        up = {n.spec.name for rt in self.runtimes.values() for n in rt.nodes if n.up is True}
        metrics.JANUS_NODES_UP.set(len(up))
        metrics.LIVE_VIEWERS.set(sum(n.viewers for rt in self.runtimes.values() for n in rt.nodes if n.up is True))
