"""Media nodes on hosts of their own: what the control plane does when a host's agent registers its
Janus node and sends heartbeats (the agent itself is ``node_agent.py``).

The agent presents the media node key (``settings.LIVE_MEDIA_NODE_KEY``) as a bearer token; the
node's secrets travel in the request body over that authenticated API, never in a URL. A node is
*fresh* while its heartbeats arrive; the runtime adopts fresh agent nodes and stops counting on one
whose heartbeats stopped (it also watches the node itself and marks it down after three failed looks).
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, hub
from diemcau.core.broadcast import publish_on_commit
from diemcau.core.errors import DomainError
from diemcau.orgs.scoping import SYSTEM

from .groups import board_group
from .models import LiveNode, Programme

STALE_AFTER = 10.0     # seconds without a heartbeat after which an agent's node is not adopted


def key_accepted(presented: str) -> bool:
    """Whether ``presented`` is the media node key (none is accepted while no key is set)."""
    key = settings.LIVE_MEDIA_NODE_KEY
    return bool(key) and hmac.compare_digest(presented.encode(), key.encode())


def _check(data: dict) -> None:
    name = str(data.get("name", ""))
    if not name or len(name) > 40 or not all(c.isalnum() or c in "-_" for c in name):
        raise DomainError(_("A node name is letters, digits, '-' or '_'."), "bad_node_name")
    if data.get("role") not in LiveNode.Role.values:
        raise DomainError(_("Unknown node role."), "bad_node_role")
    try:
        ipaddress.ip_address(str(data.get("private_address", "")))
    except ValueError:
        raise DomainError(_("The private address must be an IP address."), "bad_address") from None
    for field, schemes in (("ws_url", ("ws", "wss")), ("http_url", ("http", "https")),
                           ("admin_url", ("http", "https"))):
        url = urlsplit(str(data.get(field, "")))
        if url.scheme not in schemes or not url.hostname or url.username or url.query:
            raise DomainError(_("A node URL is malformed: %(field)s.") % {"field": field}, "bad_node_url")
    for field in ("api_secret", "admin_secret", "admin_key"):
        if not 16 <= len(str(data.get(field, ""))) <= 100:
            raise DomainError(_("A node secret is missing or too short."), "bad_node_secret")


@transaction.atomic
def register_node(data: dict) -> LiveNode:
    """Record (or update) a node an agent runs: addresses, public URL, secrets, capacity, region."""
    _check(data)
    fields = {
        "role": data["role"], "base_port": int(data.get("base_port") or 0),
        "capacity": max(1, int(data.get("capacity") or 50)), "region": str(data.get("region", ""))[:40],
        "private_address": str(data["private_address"]), "ws_url": data["ws_url"], "http_url": data["http_url"],
        "admin_url": data["admin_url"], "api_secret": data["api_secret"], "admin_secret": data["admin_secret"],
        "admin_key": data["admin_key"], "agent": True, "heartbeat_at": timezone.now(),
    }
    row = LiveNode.objects.select_for_update().filter(name=data["name"]).first()
    if row is not None and not row.agent:
        raise DomainError(_("A node of the runtime's own machine has this name."), "node_name_taken")
    if row is None:
        row = LiveNode.objects.create(name=data["name"], state=LiveNode.State.UNKNOWN, **fields)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        row.save()
    audit.record(SYSTEM, "live.node_registered", row, after={
        "role": row.role, "private_address": row.private_address, "ws_url": row.ws_url,
        "capacity": row.capacity, "region": row.region})
    _notify_boards()
    return row


def heartbeat(name: str, load: int) -> LiveNode:
    """An agent's node is alive and has ``load`` sessions open."""
    updated = LiveNode.objects.filter(name=name, agent=True).update(heartbeat_at=timezone.now(),
                                                                    load=max(0, int(load)))
    if not updated:
        raise DomainError(_("This node is not registered."), "node_not_registered")
    return LiveNode.objects.get(name=name)


def fresh_agent_nodes() -> list[LiveNode]:
    """Agent nodes whose heartbeats still arrive."""
    since = timezone.now() - datetime.timedelta(seconds=STALE_AFTER)
    return list(LiveNode.objects.filter(agent=True, heartbeat_at__gte=since))


def _notify_boards() -> None:
    cids = Programme.objects.values_list("conference_id", flat=True)
    publish_on_commit(*[hub.notice(board_group(cid)) for cid in cids])
