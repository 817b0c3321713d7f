"""Fixtures that run real Janus nodes (Debian's /usr/bin/janus) on free loopback ports."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest

from diemcau.live.janus_node import JANUS_BINARY, JanusNode
from diemcau.orgs.scoping import SYSTEM
from tests.environment import missing


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as Janus binds: a port left in TIME_WAIT by the previous test's node is free to it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(taken: Collection[int] = ()) -> int:
    """A base port whose 1000-port block looks unused: control ports and the first streaming ports free."""
    # Below the kernel's ephemeral range (32768+) so outgoing connections cannot land in a node's block;
    # random so engineers running the suite at the same time rarely pick the same block.
    for _ in range(100):
        base = random.randrange(20, 32) * 1000
        if base in taken:
            continue
        control = all(_tcp_free(base + offset) for offset in (0, 1, 2))
        streaming = all(_udp_free(base + 600 + offset) for offset in range(8))
        if control and streaming:
            return base
    raise RuntimeError("no free 1000-port block between 20000 and 32000")


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., JanusNode]]:
    """Start Janus nodes on free loopback ports in tmp folders; every node is stopped at the end."""
    if not Path(JANUS_BINARY).exists():
        missing(f"{JANUS_BINARY} is missing (install Debian's janus package)")
    nodes: list[JanusNode] = []

    def make(name: str = "root", **kwargs: object) -> JanusNode:
        node = JanusNode(name, free_base_port({n.ports.http for n in nodes}), folder=tmp_path / name, **kwargs)
        nodes.append(node)
        node.start()
        return node

    try:
        yield make
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def janus_node(make_node: Callable[..., JanusNode]) -> JanusNode:
    """One running node named ``root``."""
    return make_node("root")


def live_base_port(taken: Collection[int] = ()) -> int:
    """A free 1000-port block in 20000–25999 (the media benchmarks use 26000–30999)."""
    for _ in range(100):
        base = random.randrange(20, 26) * 1000
        if base in taken:
            continue
        # the programme's ports of the first two lanes (live/layout.py)
        if all(_tcp_free(base + o) for o in (0, 1, 2)) and all(_udp_free(base + o) for o in (600, 602, 632, 634)):
            return base
    raise RuntimeError("no free 1000-port block between 20000 and 26000")


@pytest.fixture
def live_world(db, tree, make_user):
    """A conference with a host point and a relay line host → Hà Nội → Ba Vì → a Ba Vì school,
    one operator per point, a director, and a Sóc Sơn organiser (outside Ba Vì)."""
    import datetime

    from diemcau.events import services as events
    from diemcau.orgs.models import Role, RoleAssignment
    from diemcau.points import bridge_points, halls

    conf = events.create_conference(SYSTEM, title="Hội nghị trực tuyến", date=datetime.date(2023, 8, 15),
                                    host_unit=tree["ministry"], place="Hà Nội")
    hall = {k: halls.create_hall(SYSTEM, tree[k], name=f"Hội trường {k}", capacity=200)
            for k in ("ministry", "hanoi", "bavi", "school_a", "socson")}
    host = bridge_points.create_point(SYSTEM, conf, hall["ministry"], name="Điểm cầu chính", is_host=True)
    hanoi = bridge_points.create_point(SYSTEM, conf, hall["hanoi"], name="Điểm cầu Sở Hà Nội", relay_parent=host)
    bavi = bridge_points.create_point(SYSTEM, conf, hall["bavi"], name="Điểm cầu Phòng Ba Vì", relay_parent=hanoi)
    school = bridge_points.create_point(SYSTEM, conf, hall["school_a"], name="Điểm cầu Tây Đằng A", relay_parent=bavi)
    socson = bridge_points.create_point(SYSTEM, conf, hall["socson"], name="Điểm cầu Sóc Sơn", relay_parent=hanoi)
    ops = {}
    for key, point, unit in (("hanoi", hanoi, "hanoi"), ("bavi", bavi, "bavi"), ("school", school, "school_a"),
                             ("host", host, "ministry"), ("socson", socson, "socson")):
        user = make_user(f"op_{key}", Role.POINT_OPERATOR, tree[unit])
        RoleAssignment.objects.filter(user=user, role=Role.POINT_OPERATOR).update(point_id=point.pk)
        ops[key] = user
    director = make_user("dieuphoi", Role.DIRECTOR)
    RoleAssignment.objects.create(user=director, role=Role.POINT_OPERATOR, unit=tree["ministry"], point_id=host.pk)
    return {"conference": conf, "host": host, "hanoi": hanoi, "bavi": bavi, "school": school, "socson": socson,
            "ops": ops, "director": director, "tree": tree}
