"""Edge assignment by relay tree, region and capacity: which node each point watches.

The rules (``live/nodes.py``): the relay line's edge with room; else a spare agent edge of the point's
own region with room, the least loaded first; else one of another region with room; an edge at or over
capacity never while one with room exists; a returning edge takes new joins again; the root last.
"""

import pytest

from diemcau.live import nodes
from diemcau.live.models import LiveNode

UP, DOWN = LiveNode.State.UP, LiveNode.State.DOWN


def node(name, *, region="", capacity=10, state=UP, point_id=None, role="edge", agent=True):
    return LiveNode(name=name, role=role, base_port=0, region=region, capacity=capacity, state=state,
                    point_id=point_id, agent=agent if role == "edge" else False)


ROOT = node("root", role="root")
NORTH_1 = node("north-1", region="SO01", capacity=2)
NORTH_2 = node("north-2", region="so01, so02", capacity=4)   # two departments, written loosely
SOUTH = node("south", region="SO79", capacity=3)
RELAY = node("relay-bavi", capacity=2, point_id=7, agent=False)  # an edge at a point of the relay tree
FLEET = [ROOT, NORTH_1, NORTH_2, SOUTH, RELAY]
HANOI, HCM, NOWHERE = frozenset({"so01", "01"}), frozenset({"so79", "79"}), frozenset()


def down(n):
    return node(n.name, region=n.region, capacity=n.capacity, state=DOWN, point_id=n.point_id, agent=n.agent)


# (what, nodes, relay line, the point's regions, load by node, expected node)
TABLE = [
    ("relay line's edge first", FLEET, [RELAY], HANOI, {}, "relay-bavi"),
    ("relay edge full: own region", FLEET, [RELAY], HANOI, {"relay-bavi": 2}, "north-1"),
    ("own region, least loaded by fill", FLEET, [], HANOI, {"north-1": 1, "north-2": 1}, "north-2"),
    ("own region before an emptier other one", FLEET, [], HCM, {"south": 2}, "south"),
    ("own region full: another region with room", FLEET, [], HCM, {"south": 3, "north-1": 1}, "north-2"),
    ("a full edge never while one has room", FLEET, [], HANOI, {"north-1": 2, "north-2": 4, "south": 2}, "south"),
    ("no region: the least loaded anywhere", FLEET, [], NOWHERE, {"north-2": 1, "south": 0}, "north-1"),
    ("down edge skipped", [ROOT, down(NORTH_1), NORTH_2, SOUTH], [], HANOI, {"north-2": 3}, "north-2"),
    ("a returning edge takes joins again", [ROOT, NORTH_1, NORTH_2, SOUTH], [], HANOI,
     {"north-1": 0, "north-2": 3}, "north-1"),
    ("all full: the relay edge stays", FLEET, [RELAY], HANOI,
     {"relay-bavi": 5, "north-1": 2, "north-2": 4, "south": 3}, "relay-bavi"),
    ("all full, no relay: the least over anywhere", FLEET, [], HCM,
     {"north-1": 3, "north-2": 4, "south": 9}, "north-2"),
    ("no edge up: the root", [ROOT, down(NORTH_1), down(SOUTH)], [], HANOI, {}, "root"),
    ("not yet provisioned agent edge is not a spare", [ROOT, node("new", region="SO01", state="unknown")],
     [], HANOI, {}, "root"),
]


@pytest.mark.parametrize(("what", "fleet", "line", "regions", "load", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_a_point_is_given_the_node_the_rules_say(what, fleet, line, regions, load, expected):
    chosen = nodes.choose_node(fleet, line, regions, load)
    assert chosen is not None and chosen.name == expected, what


def test_a_plan_fills_edges_to_capacity_then_spills_to_another_region():
    """Points × nodes: each point adds one to its node's load; nobody lands on a full edge while one has room."""
    fleet = [ROOT, NORTH_1, SOUTH]
    regions = {pk: HANOI for pk in range(1, 5)} | {pk: HCM for pk in range(5, 8)}

    class Point:
        def __init__(self, pk):
            self.pk = pk

    points = [Point(pk) for pk in range(1, 8)]
    plan = nodes.assign_points(points, fleet, dict.fromkeys(range(1, 8)), regions)
    names = [plan[pk].name for pk in range(1, 8)]
    # Hà Nội's two seats go first, its next two spill to the south (which has room); the south's own
    # points then find the south's last seat; after it every edge is full: the least over, anywhere.
    assert names == ["north-1", "north-1", "south", "south", "south", "north-1", "south"]


@pytest.mark.django_db
def test_a_points_region_is_its_department_and_joins_count_until_the_next_heartbeat(live_world, client):
    import datetime

    from django.utils import timezone

    from diemcau.live.models import LiveToken

    w = live_world
    now = timezone.now()
    LiveNode.objects.create(name="root", role="root", base_port=21000, state=UP)
    LiveNode.objects.create(name="edge-bavi", role="edge", base_port=22000, point=w["bavi"], capacity=1, state=UP)
    hanoi_edge = LiveNode.objects.create(name="ha-noi", role="edge", base_port=0, agent=True, region="SO01",
                                         capacity=5, load=4, heartbeat_at=now, state=UP)
    LiveNode.objects.create(name="sai-gon", role="edge", base_port=0, agent=True, region="SO79", capacity=5,
                            load=0, heartbeat_at=now, state=UP)
    regions = nodes.point_regions([w[k] for k in ("host", "hanoi", "school")])
    assert regions == {w["host"].pk: frozenset(), w["hanoi"].pk: {"so01"}, w["school"].pk: {"so01"}}
    assert nodes.node_for_point(w["school"]).name == "edge-bavi"   # its relay line's edge
    assert nodes.node_for_point(w["socson"]).name == "ha-noi"      # its department's spare edge (4 of 5)
    assert nodes.node_for_point(w["host"]).name == "sai-gon"       # no region: the least loaded
    # A kiosk joins ha-noi before its agent's next heartbeat: that seat counts, so the edge is full.
    LiveToken.objects.create(token="t-socson", user=w["ops"]["socson"], conference=w["conference"],
                             point=w["socson"], purpose=LiveToken.Purpose.KIOSK, nodes=["root", "ha-noi"],
                             expires_at=now + datetime.timedelta(hours=1))
    assert nodes.node_for_point(w["socson"]).name == "sai-gon"
    # The heartbeat after it reports the session itself (the token no longer counts twice); one leaves.
    LiveNode.objects.filter(pk=hanoi_edge.pk).update(load=4, heartbeat_at=timezone.now())
    assert nodes.node_for_point(w["socson"]).name == "ha-noi"
    plan = nodes.node_plan(w["conference"])
    rows = {r["node"].name: (r["region"], r["count"], r["sessions"], r["over"]) for r in plan["nodes"]}
    # The plan (each point one seat, by id): the host (no region) and Hà Nội to ha-noi, Ba Vì to its
    # relay edge, whose one seat is then taken: its school and Sóc Sơn to their department's ha-noi.
    assert rows["edge-bavi"] == ("", 1, None, False)
    assert rows["ha-noi"] == ("SO01", 4, 4, False) and rows["sai-gon"] == ("SO79", 0, 0, False)
    assert rows["root"][1] == 0
    # The director's node plan shows each node's region, load and open sessions.
    client.force_login(w["director"])
    page = client.get(f"/live/conference/{w['conference'].pk}/nodes/").content.decode()
    assert "Vùng" in page and "SO79" in page and "80%" in page and "Phiên đang mở" in page
