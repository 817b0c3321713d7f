"""The runtime is woken by a switch's commit (PostgreSQL NOTIFY), not by its next tick; never by a rollback."""

import asyncio
import contextlib
import threading

import pytest
from django.db import connection, transaction

from diemcau.live import programme, wakeup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener():
    """A wakeup.Listener on its own event loop in a thread; yields (listener, the ids it was woken for)."""
    if connection.vendor != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's (on SQLite the runtime follows its tick)")
    woken: list[int] = []
    loop = asyncio.new_event_loop()
    box = {}

    def run():
        asyncio.set_event_loop(loop)
        box["listener"] = wakeup.Listener(woken.append)
        box["task"] = loop.create_task(box["listener"].run())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for _ in range(100):
        if "listener" in box and box["listener"].ready.is_set():
            break
        threading.Event().wait(0.05)
    assert box["listener"].ready.is_set(), "the listener did not start listening"
    yield woken

    async def end():  # the listener closes its connection (no session left on the test database)
        box["task"].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await box["task"]

    asyncio.run_coroutine_threadsafe(end(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _wait_for(woken, n, timeout=10.0):
    for _ in range(int(timeout / 0.02)):
        if len(woken) >= n:
            return
        threading.Event().wait(0.02)


def test_a_switch_wakes_the_runtime_on_commit_and_a_rollback_does_not(listener, live_world):
    conference = live_world["conference"]
    with pytest.raises(RuntimeError), transaction.atomic():
        wakeup.notify(conference.pk)
        raise RuntimeError("rolled back")
    programme.set_programme(live_world["director"], conference, "host")  # already the host: no switch
    with transaction.atomic():
        prog = programme.programme(conference)
        programme.switch_source(live_world["director"], prog, "host", None, "")
        threading.Event().wait(0.3)
        assert listener == [], "woken before the commit"
    _wait_for(listener, 1)
    assert listener == [conference.pk]
    # The switch came with the programme as committed: the runtime re-points without reading it back.
    prog.refresh_from_db()
    assert wakeup.announced(conference.pk)[:3] == (prog.version, "host", None)
