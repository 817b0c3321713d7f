"""Fixtures that run real Janus nodes (Debian's /usr/bin/janus) on free loopback ports."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest

from diemcau.live.janus_node import JANUS_BINARY, JanusNode


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
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
        pytest.skip(reason=f"{JANUS_BINARY} is missing (install Debian's janus package)")
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
