"""A check-in world on the cluster, made from inside an app host (tests/cluster, bench/cluster.py).

Run by the harness in app1's namespace with the app environment (``Cluster.python_in``):

    python deploy/cluster/world.py --scale 0.003 --people 3000

Loads the national world from seed 2023 at ``--scale`` (``load_demo --size national --scale``; the
demo accounts come with it), then the check-in benchmark's conference: one morning session, bridge
points with halls, every institution assigned, one signed-in operator per point
(``bench/checkin.py``: ``make_points``, ``sign_in_operators``, ``arrivals``: written once, used here),
a signed-in session for the national organiser ``bo`` (to watch the board) and one for Ba Vì's
organiser ``bavi`` (to import people). Prints one JSON
object: session, ministry, operators' cookies, the board viewer's cookie and ``--people`` arrivals
in the order of the morning's curve.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def viewer_cookie(username: str) -> str:
    """A signed-in database session for ``username`` (as ``sign_in_operators`` makes them)."""
    import datetime
    import secrets

    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    user = get_user_model().objects.get(username=username)
    store = SessionStore()
    store.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                  "_auth_user_hash": user.get_session_auth_hash()})
    store.set_expiry(timezone.now() + datetime.timedelta(days=1))
    store.create()
    return store.session_key or secrets.token_hex(8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.003)
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2023)
    args = parser.parse_args()

    import django

    django.setup()
    import checkin as bench  # bench/checkin.py
    from diemcau.core.acting import system_scope
    from diemcau.demo import orgs as demo

    with system_scope("cluster world: the national load and the check-in conference"):
        started = time.monotonic()
        report = demo.load(args.seed, "national", scale=args.scale, progress=lambda m: None)
        print(f"national world (scale {args.scale}): {report.people_total:,} people in "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr)
        bench.drop_points()
        conference = bench.make_points(args.scale)
        session = conference.sessions.get()
        operators = bench.sign_in_operators(conference)  # replaces every database session
        world = {"session_id": session.pk, "conference_id": conference.pk, "operators": operators,
                 "seed": args.seed}
        from diemcau.orgs import admin_data
        from diemcau.orgs.models import Unit

        world["ministry_id"] = Unit.objects.get(code=admin_data.MINISTRY_CODE).pk
        world["viewer_cookie"] = viewer_cookie("bo")
        # Ba Vì's organiser imports people into Ba Vì's schools (the task-worker fault).
        from diemcau.demo.org_tree import BA_VI_CODE

        world["importer_cookie"] = viewer_cookie("bavi")
        ba_vi = Unit.objects.get(code=BA_VI_CODE)
        world["import_units"] = list(Unit.objects.filter(parent=ba_vi, kind=Unit.Kind.INSTITUTION)
                                     .order_by("code").values_list("code", flat=True)[:20])
        world["arrivals"] = bench.arrivals(world, args.people, args.seed)
        world["people"] = report.people_total
    print(json.dumps(world))


if __name__ == "__main__":
    main()
