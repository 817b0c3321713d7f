"""Run the live runtime: the Janus nodes, and every conference of the day on them.

    manage.py run_live [--conference ID] [--root-port 18000] [--edges 1] [--edge-port 19000]
                       [--no-synthetic] [--hls] [--record] [--address 10.0.0.21 --admin-from 10.0.0.11,…]

One runtime per deployment is active (live/runtime_day.py): it serves every conference of today
(in the settings' time zone), picks up one created or moved to today while it runs and releases one whose day
is over. It holds the runtime's lease (live/lease.py, a PostgreSQL advisory lock); another one started
on a second host waits as a standby and takes every conference over when the active one dies.
``--conference ID`` serves that conference alone, whatever its date (with a lease of its own).
Media hosts' agents (manage.py media_node) register their edges; the runtime adopts them.
On a host of its own (the cluster harness's media-root), ``--address`` binds the root's Janus API and
its Admin API to that address (the Admin API's ACL: the address and ``--admin-from``), so studios,
kiosks and the app hosts reach it; ``--edges 0`` leaves the edges to the agents.

Edges go where the relay trees of the day's conferences have the biggest subtrees (see
nodes.suggest_edge_sites). Stop with Ctrl+C or SIGTERM: the feeds, the packagers and the nodes are stopped.
"""

import asyncio
import logging
import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from diemcau.core import metrics
from diemcau.core.acting import system_scope
from diemcau.events.models import Conference
from diemcau.live import nodes
from diemcau.live.janus_node import JanusNode, JanusNodeError
from diemcau.live.lease import LEASE_KEY, RuntimeLease
from diemcau.live.runtime import NodeSpec
from diemcau.live.runtime_day import DayRuntime, conferences_of_day
from diemcau.points.models import BridgePoint


def sip_gateway(runtime, address: str):
    """The SIP gateway beside the root (``live/sip_gateway.py``), its ports from ``DIEMCAU_SIP_*``."""
    from diemcau.live.sip_gateway import SipGateway

    return SipGateway(runtime, address=address, folder=Path(settings.VAR_DIR) / "sip",
                      sip_port=settings.LIVE_SIP_PORT,
                      tls_port=settings.LIVE_SIP_TLS_PORT)


class Command(BaseCommand):
    help = "Start the Janus nodes and keep every conference of the day's programme on them."

    def add_arguments(self, parser):
        parser.add_argument("--conference", type=int, help="serve this conference alone (default: every one of today)")
        parser.add_argument("--root-port", type=int, default=18000)
        parser.add_argument("--edges", type=int, default=1, help="number of edge nodes")
        parser.add_argument("--edge-port", type=int, default=19000, help="first edge's base port (+1000 each)")
        parser.add_argument("--capacity", type=int, default=50, help="viewers per node")
        parser.add_argument("--no-synthetic", action="store_true", help="no test pattern for the host")
        parser.add_argument("--hls", action="store_true", help="package the programme as HLS in var/hls")
        parser.add_argument("--record", action="store_true", help="record each session's programme (var/recordings)")
        parser.add_argument("--sip", metavar="ADDRESS", help="also run the SIP gateway for room systems (Kamailio, "
                            "rtpengine) on ADDRESS, the address halls reach (docs/live-media.md, issue 18); "
                            "for the --conference, or the first conference of the day")
        parser.add_argument("--address", default="", help="bind the root's Janus (API and Admin API) to this address")
        parser.add_argument("--admin-from", default="", help="with --address: more address prefixes for the Admin API")

    def handle(self, *args, **options):
        with system_scope("media runtime: follows every conference's programme"):
            return self._handle(*args, **options)

    def _handle(self, *args, **opts):
        logging.basicConfig(level=logging.INFO, format="run_live %(levelname)s %(message)s")
        if opts["conference"]:
            if not Conference.objects.filter(pk=opts["conference"]).exists():
                raise CommandError(f"no conference {opts['conference']}")
            only, key = [opts["conference"]], LEASE_KEY * 1_000_000 + opts["conference"]
        else:
            only, key = None, LEASE_KEY  # one active runtime for the whole day
        lease, stop = RuntimeLease(key=key), threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        root = _root_on_address(opts) if opts["address"] else None
        ready = False
        if not lease.try_acquire():
            self.stdout.write("live: another runtime holds the lease; waiting as a standby")
            ready = _start_early(root)  # a takeover then skips Janus's start (seconds on a loaded host)
            if not lease.wait(stop):
                if ready:
                    root.stop()
                return
        self.stdout.write("live: this runtime holds the lease")
        specs = _specs(opts, only or conferences_of_day(timezone.localdate()))
        hls_dir = Path(settings.VAR_DIR) / "hls" / "programme" if opts["hls"] else None
        day = DayRuntime(specs, only=only, hls_dir=hls_dir, nodes={"root": root} if root else None,
                         synthetic_host=not opts["no_synthetic"], record=opts["record"])
        if root is not None and not ready:
            root.start()
        day.start_nodes()
        metrics.serve_port("live runtime")  # DIEMCAU_METRICS_PORT: Janus nodes up, viewers
        for spec in specs:
            where = BridgePoint.objects.filter(pk=spec.point_id).first() if spec.point_id else None
            self.stdout.write(f"live: {spec.name} on ports {spec.base_port}+ " + (f"at {where}" if where else ""))
        self.stdout.write("live: serving " + (f"conference {only[0]}" if only else "every conference of the day"))
        try:
            asyncio.run(_serve(day, lease, opts["sip"], self.stderr))
        finally:
            if root is not None:
                root.stop()


def _start_early(root) -> bool:
    """A standby with a root of its own address starts that Janus while it waits (an empty node: the
    runtime provisions it once it holds the lease). Not when the port answers already (the active
    runtime's root on the same address): then it starts after the takeover, as before."""
    if root is None:
        return False
    try:
        root.start()
    except JanusNodeError:
        return False
    return True


def _specs(opts, conference_ids: list[int]) -> list[NodeSpec]:
    """The root and ``--edges`` local edges, at the biggest subtrees of the conferences' relay trees."""
    specs = [NodeSpec("root", opts["root_port"], role="root", capacity=opts["capacity"])]
    sites = []
    for cid in conference_ids:
        rows = list(BridgePoint.objects.filter(conference_id=cid))
        sites += nodes.suggest_edge_sites(rows, {p.pk: p.relay_parent_id for p in rows}, capacity=10)
    sites.sort(key=lambda s: -s["serves"])
    for i in range(opts["edges"]):
        site = sites[i]["point"].pk if i < len(sites) else None  # no site: an edge any point may be sent to
        specs.append(NodeSpec(f"edge-{i + 1}", opts["edge_port"] + 1000 * i, point_id=site, capacity=opts["capacity"]))
    return specs


async def _serve(day: DayRuntime, lease, sip_address: str | None, stderr) -> None:
    """Run the day's runtime (and the SIP gateway beside its first conference) while this process holds the lease."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, day.stop)

    async def keep_lease():  # lost (database restarted, connection cut): stop, restart as standby
        while True:
            await asyncio.sleep(2.0)
            if not await asyncio.to_thread(lease.held):
                stderr.write("live: the lease is lost; stopping")
                day.stop()
                return
    watcher = asyncio.create_task(keep_lease())
    gateways: list[asyncio.Task] = []
    if sip_address:
        def with_gateway(runtime):  # one gateway (its ports are fixed): beside the first conference served
            if not gateways:
                gateways.append(asyncio.create_task(sip_gateway(runtime, sip_address).run()))
        day.started.append(with_gateway)
    try:
        await day.run()
    finally:
        watcher.cancel()
        await asyncio.gather(*gateways, return_exceptions=True)  # they stop with their runtime
        lease.release()


def _root_on_address(opts) -> JanusNode:
    """The root's Janus on this host's address (the runtime then attaches to it: it is started and
    stopped here)."""
    acl = ",".join(a for a in (opts["address"], opts["admin_from"]) if a)
    return JanusNode("root", opts["root_port"], bind_ip=opts["address"], admin_bind_ip=opts["address"],
                     admin_acl=acl, die_with_parent=False)
