"""Job kinds for the task tests, loaded by the test process and by every test worker (``--include``).

``test.block`` holds its job open until a gate file appears, so a test can kill the worker mid-run;
``test.flaky`` meets a lost database connection on its first runs. In a worker
(``DIEMCAU_TEST_GATES`` set), a job whose ``<id>.hold`` file exists in that folder stops at its first
progress report made inside a transaction (rows written, not committed), writes ``<id>.held``, and
waits for ``<id>.gate``: the moment a test kills the worker.
"""

import os
import time
from pathlib import Path

from django.db import OperationalError, connection

from diemcau.core import tasks


def _block(job, progress):
    gate = Path(job.params["gate"])
    progress(1, 2, "waiting for the gate", force=True)
    while not gate.exists():
        time.sleep(0.05)
    progress(2, 2, "through the gate", force=True)
    return {"through": True}


tasks.handler("test.block")(_block)
tasks.handler("test.block_again", retryable=True)(_block)


@tasks.handler("test.flaky", retryable=True)
def _flaky(job, progress):
    runs = Path(job.params["runs"])
    with runs.open("a") as f:
        f.write(f"{time.time()}\n")
    if len(runs.read_text().split()) <= job.params["failures"]:
        raise OperationalError("server closed the connection unexpectedly")
    return {"runs": len(runs.read_text().split())}


GATES = os.environ.get("DIEMCAU_TEST_GATES")
if GATES:
    _report = tasks.Progress.__call__

    def _held_report(self, done, total=None, message=None, force=False):
        folder = Path(GATES)
        hold, gate = folder / f"{self.job.pk}.hold", folder / f"{self.job.pk}.gate"
        if connection.in_atomic_block and done and hold.exists() and not gate.exists():
            _report(self, done, total, message, force=True)
            time.sleep(1)  # the heartbeat writes the report meanwhile
            (folder / f"{self.job.pk}.held").touch()
            while not gate.exists():
                time.sleep(0.05)
        return _report(self, done, total, message, force)

    tasks.Progress.__call__ = _held_report
