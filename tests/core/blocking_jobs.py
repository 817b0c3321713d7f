"""Job kinds for the lease tests, loaded by the worker processes those tests start.

``test.block`` holds its job open until a gate file appears, so a test can kill the worker mid-run.
"""

import time
from pathlib import Path

from diemcau.core import jobs


def _block(job, progress):
    gate = Path(job.params["gate"])
    progress(1, 2, "waiting for the gate", force=True)
    while not gate.exists():
        time.sleep(0.05)
    progress(2, 2, "through the gate", force=True)
    return {"through": True}


jobs.handler("test.block")(_block)
jobs.handler("test.block_again", retryable=True)(_block)
