"""The words the live pages' scripts show, translated on the server and handed over as JSON."""

from django.utils.translation import gettext as _


def js_labels() -> dict:
    return {
        "connecting": _("Connecting…"), "live": _("Programme live"), "lost": _("Media connection lost, reconnecting…"),
        "no_picture": _("Waiting for the picture…"), "ws_ok": _("Connected to diemcau"),
        "ws_lost": _("diemcau unreachable, retrying…"), "host": _("Host studio"),
        "requested": _("Waiting for the director…"), "granted": _("You have the floor"),
        "muted": _("Microphone muted by the director"), "who_required": _("Type who will speak first."),
        "never": _("Never connected"), "connected": _("Connected"), "receiving": _("Receiving"),
        "publishing": _("Publishing"), "floor": _("Has the floor"), "state_lost": _("Lost"),
        "degraded": _("degraded"), "grant": _("Give the floor"), "grant_both": _("Side by side"),
        "revoke": _("Take back"), "mute": _("Mute"), "unmute": _("Unmute"), "empty_queue": _("No request."),
        "points_live": _("%(live)s of %(total)s points live, %(degraded)s degraded"),
        "node_up": _("running"), "node_down": _("DOWN"), "no_alarm": _("No alarm."),
        "camera": _("Camera"), "microphone": _("Microphone"), "ok": _("OK"), "failed": _("Failed"),
        "saved": _("Check saved."), "passed": _("Passed"), "not_passed": _("Not passed"),
        "publishing_on": _("Camera and microphone are on"), "page": _("Page"),
        "no_thumb": _("No picture yet"), "seconds_ago": _("%(n)s s ago"), "minutes_ago": _("%(n)s min ago"),
    }
