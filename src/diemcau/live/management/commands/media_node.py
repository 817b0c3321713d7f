"""Run a media host's Janus node and keep it registered with the control plane (live/node_agent.py).

    DIEMCAU_MEDIA_NODE_KEY=… manage.py media_node --name edge-1 --address 10.0.0.22 \
        --control http://10.0.0.3 [--role edge] [--base-port 19000] [--public-url wss://edge1.example/janus] \
        [--capacity 200] [--region north] [--admin-from 10.0.0.11,10.0.0.12]

The same agent as ``python -m diemcau.live.node_agent`` (same options), which starts faster: it does
not load Django's apps (what systemd's unit and the cluster harness run). The key comes from the
environment only (never a URL or the command line). Stop with SIGTERM/Ctrl+C.
"""

import os

from django.core.management.base import BaseCommand, CommandError

from diemcau.live import node_agent


class Command(BaseCommand):
    help = "Run this media host's Janus node and register it with the control plane."
    requires_system_checks = []  # a media host serves no page: the URL and model checks are not its concern

    def add_arguments(self, parser):
        node_agent.add_arguments(parser)

    def handle(self, *args, **opts):
        key = os.environ.get("DIEMCAU_MEDIA_NODE_KEY", "")
        if not key:
            raise CommandError("DIEMCAU_MEDIA_NODE_KEY is not set")
        node_agent.serve(opts, key)
