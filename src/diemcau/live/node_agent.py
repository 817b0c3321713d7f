"""The agent of a media host: runs its Janus node and keeps the control plane told about it.

``manage.py media_node`` builds a :class:`NodeAgent` and calls :meth:`NodeAgent.run`. The agent

- renders the node's configuration and starts Janus (``JanusNode``): the Janus API (HTTP and
  WebSockets) on the host's private address, the **Admin API on the private address only**, its ACL
  the host itself and the control plane's addresses; the node's secrets are made here once and kept
  across Janus restarts;
- registers the node with the control plane (``POST /api/live/nodes/register``, the media node key
  as a bearer token, the secrets in the body): private address for the Admin API and RTP, the
  public URL browsers use (``wss://`` behind nginx, or the node's own ``ws://``), capacity, region;
- every ``HEARTBEAT_EVERY`` seconds sends a heartbeat with its load (sessions open, from the Admin
  API) and restarts Janus if it died (as systemd would restart the agent); a restarted Janus has
  lost its rooms, mountpoints and tokens, which the runtime notices and provisions again.

The agent does not set Django up (no settings, no database, no app loading): ``python -m
diemcau.live.node_agent`` (what systemd and the cluster harness run) starts Janus within a second of
its start, where ``manage.py media_node`` (the same agent) first loads every app of the product
(~6 s of CPU: a media host coming back on a loaded machine took 30–60 s to start its Janus).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass

import httpx

from .janus_client import JanusAdmin
from .janus_node import JanusNode

HEARTBEAT_EVERY = 2.0  # seconds between two heartbeats of an agent (node_registry.py reads it)

log = logging.getLogger("diemcau.live.node_agent")


@dataclass
class AgentConfig:
    """What a media host says about its node."""

    name: str
    base_port: int
    private_address: str
    control_url: str          # the control plane's base URL, e.g. http://10.210.0.3
    key: str                  # the media node key (from the environment, never a URL)
    role: str = "edge"
    public_url: str = ""      # what browsers are given; default the node's own ws:// URL
    capacity: int = 50
    region: str = ""
    admin_from: str = ""      # extra address prefixes for the Admin API's ACL (the runtime's hosts)


class NodeAgent:
    """Runs one Janus node on this host and keeps it registered with the control plane."""

    def __init__(self, config: AgentConfig, *, folder=None) -> None:
        self.config = config
        acl = ",".join(a for a in (config.private_address, config.admin_from) if a)
        self.janus = JanusNode(config.name, config.base_port, folder=folder, bind_ip=config.private_address,
                               admin_bind_ip=config.private_address, admin_acl=acl)
        self._stop = threading.Event()
        self.registered = False

    def payload(self) -> dict:
        j, c = self.janus, self.config
        return {"name": c.name, "role": c.role, "base_port": c.base_port, "private_address": c.private_address,
                "ws_url": c.public_url or j.ws_url, "http_url": j.http_url, "admin_url": j.admin_url,
                "api_secret": j.api_secret, "admin_secret": j.admin_secret, "admin_key": j.admin_key,
                "capacity": c.capacity, "region": c.region}

    def _post(self, path: str, body: dict) -> dict:
        url = self.config.control_url.rstrip("/") + "/api/live" + path
        reply = httpx.post(url, json=body, headers={"Authorization": f"Bearer {self.config.key}"}, timeout=5.0)
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:200]}")
        return reply.json()

    def register(self) -> None:
        self._post("/nodes/register", self.payload())
        self.registered = True
        log.info("node %s registered with %s", self.config.name, self.config.control_url)

    def load(self) -> int:
        """Sessions open on the node (kiosks and viewers each hold one)."""
        async def count():
            async with JanusAdmin(self.janus.admin_url, self.janus.admin_secret, timeout=2.0) as admin:
                return len(await admin.list_sessions())
        try:
            return int(asyncio.run(count()))  # the agent's own thread: no event loop runs here
        except Exception:  # a busy node still gets its heartbeat, with no load figure
            return 0

    def step(self) -> None:
        """One beat: Janus alive (restarted if not), registered, heartbeat sent."""
        if not self.janus.is_running():
            log.warning("Janus of %s is not running: starting it", self.config.name)
            self.janus.start()
            self.registered = False
        if not self.registered:
            self.register()
        self._post(f"/nodes/{self.config.name}/heartbeat", {"load": self.load()})

    def run(self) -> None:
        """Start Janus and beat until :meth:`stop`; the control plane being away is retried."""
        self.janus.start()
        try:
            while not self._stop.is_set():
                try:
                    self.step()
                except (httpx.HTTPError, RuntimeError) as exc:
                    log.warning("control plane: %s", exc)
                    self.registered = False
                self._stop.wait(HEARTBEAT_EVERY)
        finally:
            self.janus.stop()

    def stop(self) -> None:
        self._stop.set()


def parser() -> argparse.ArgumentParser:
    """The agent's options (``manage.py media_node`` takes the same)."""
    p = argparse.ArgumentParser(prog="python -m diemcau.live.node_agent",
                                description="Run this media host's Janus node and register it with the control plane.")
    add_arguments(p)
    return p


def add_arguments(p) -> None:
    p.add_argument("--name", required=True)
    p.add_argument("--address", required=True, help="this host's private address (Admin API, RTP)")
    p.add_argument("--control", required=True, help="the control plane's base URL")
    p.add_argument("--role", default="edge", choices=("edge", "root"))
    p.add_argument("--base-port", type=int, default=19000)
    p.add_argument("--public-url", default="", help="the URL browsers use (default ws://address:port+1)")
    p.add_argument("--capacity", type=int, default=50)
    p.add_argument("--region", default="")
    p.add_argument("--admin-from", default="", help="address prefixes of the runtime's hosts")


def serve(opts: dict, key: str) -> None:
    """Run the agent until SIGTERM/SIGINT. ``key``: the media node key (the environment's, never argv)."""
    logging.basicConfig(level=logging.INFO, format="media_node %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per heartbeat
    agent = NodeAgent(AgentConfig(
        name=opts["name"], base_port=opts["base_port"], private_address=opts["address"],
        control_url=opts["control"], key=key, role=opts["role"], public_url=opts["public_url"],
        capacity=opts["capacity"], region=opts["region"], admin_from=opts["admin_from"]))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: agent.stop())
    agent.run()


def main(argv: list[str] | None = None) -> int:
    opts = vars(parser().parse_args(argv))
    key = os.environ.get("DIEMCAU_MEDIA_NODE_KEY", "")
    if not key:
        print("DIEMCAU_MEDIA_NODE_KEY is not set", file=sys.stderr)
        return 2
    serve({k.replace("-", "_"): v for k, v in opts.items()}, key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
