import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diemcau.core.acting import system_scope
from diemcau.core.errors import DomainError
from diemcau.demo import room_system
from diemcau.points.models import BridgePoint


class Command(BaseCommand):
    help = ("Switch the demo's Hà Nội department point to a SIP room system and dial in with baresip standing "
            "in for its codec (root: a network namespace); --off switches it back to a kiosk.")

    def add_arguments(self, parser):
        parser.add_argument("--point", type=int, help="bridge point id (default: the demo's Hà Nội department point)")
        parser.add_argument("--off", action="store_true", help="disable the point's room system and stop")
        parser.add_argument("--no-dial", action="store_true", help="only switch the point (no baresip)")
        parser.add_argument("--seconds", type=int, default=3600, help="how long the call lasts (default 1 hour)")

    def handle(self, *args, **opts):
        with system_scope("demo: the Hà Nội point as a room system"):
            try:
                point = room_system.demo_point(opts["point"])
                switched = room_system.switch(point, on=not opts["off"])
            except DomainError as exc:
                raise CommandError(f"{exc.message} [{exc.code}]") from exc
            except BridgePoint.DoesNotExist as exc:
                raise CommandError(str(exc) or "no such bridge point") from exc
        if opts["off"]:
            self.stdout.write(f"{point.name}: back to a kiosk (its room system is disabled).")
            return
        self.stdout.write(f"{point.name}: a room system, SIP user {switched.username} (a new password, kept as "
                          "a digest only).")
        if opts["no_dial"]:
            return
        folder = Path(settings.VAR_DIR) / "sip-hall"
        try:
            codec = room_system.dial(switched, folder, seconds=opts["seconds"], say=self.stdout.write)
        except (TimeoutError, subprocess.SubprocessError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"baresip is calling (pid {codec.pid}, log {folder / 'baresip.log'}); Ctrl+C hangs up.")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a kill hangs up too (the finally below)
        try:
            codec.wait()
        except KeyboardInterrupt:
            pass
        finally:
            codec.terminate()
            codec.wait(10)
        self.stdout.write("The call is over.")
