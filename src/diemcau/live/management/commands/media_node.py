"""Run a media host's Janus node and keep it registered with the control plane (live/node_agent.py).

    DIEMCAU_MEDIA_NODE_KEY=… manage.py media_node --name edge-1 --address 10.0.0.22 \
        --control http://10.0.0.3 [--role edge] [--base-port 19000] [--public-url wss://edge1.example/janus] \
        [--capacity 200] [--region north] [--admin-from 10.0.0.11,10.0.0.12]

The key comes from the environment only (never a URL or the command line). Stop with SIGTERM/Ctrl+C.
"""

import logging
import os
import signal

from django.core.management.base import BaseCommand, CommandError

from diemcau.live.node_agent import AgentConfig, NodeAgent


class Command(BaseCommand):
    help = "Run this media host's Janus node and register it with the control plane."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--address", required=True, help="this host's private address (Admin API, RTP)")
        parser.add_argument("--control", required=True, help="the control plane's base URL")
        parser.add_argument("--role", default="edge", choices=("edge", "root"))
        parser.add_argument("--base-port", type=int, default=19000)
        parser.add_argument("--public-url", default="", help="the URL browsers use (default ws://address:port+1)")
        parser.add_argument("--capacity", type=int, default=50)
        parser.add_argument("--region", default="")
        parser.add_argument("--admin-from", default="", help="address prefixes of the runtime's hosts")

    def handle(self, *args, **opts):
        logging.basicConfig(level=logging.INFO, format="media_node %(levelname)s %(message)s")
        key = os.environ.get("DIEMCAU_MEDIA_NODE_KEY", "")
        if not key:
            raise CommandError("DIEMCAU_MEDIA_NODE_KEY is not set")
        agent = NodeAgent(AgentConfig(
            name=opts["name"], base_port=opts["base_port"], private_address=opts["address"],
            control_url=opts["control"], key=key, role=opts["role"], public_url=opts["public_url"],
            capacity=opts["capacity"], region=opts["region"], admin_from=opts["admin_from"]))
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: agent.stop())
        agent.run()
