"""The audit log in plain sentences: "Nguyễn Văn A chuyển ý kiến #12 từ Phòng GD&ĐT Ba Vì lên Sở GD&ĐT Hà Nội".

One renderer per action code (:data:`RENDERERS`), a generic sentence for the others. The ids an
entry holds (units, topics, points) are turned into names once per page, one query per kind
(:func:`describe`), never one per row.
"""

from collections.abc import Callable

from django.utils.translation import gettext as _

from diemcau.core.models import AuditEntry
from diemcau.orgs.models import Unit
from diemcau.points.models import BridgePoint
from diemcau.voice.models import Topic

# Which keys of before/after hold the id of what (so their names are fetched for the page).
UNIT_KEYS = ("at_unit", "parent", "parent_id", "unit", "unit_id", "host_unit_id")
TOPIC_KEYS = ("topic", "topic_id")
POINT_KEYS = ("relay_parent", "relay_parent_id", "point", "point_id")

RENDERERS: dict[str, Callable] = {}


def renders(*actions: str):
    def register(func):
        for action in actions:
            RENDERERS[action] = func
        return func
    return register


class Names:
    """The names of the ids a page of entries mentions: one query per kind."""

    def __init__(self, entries):
        wanted = {"unit": set(), "topic": set(), "point": set()}
        for entry in entries:
            for data in (entry.before, entry.after):
                if isinstance(data, dict):
                    _collect(data, UNIT_KEYS, wanted["unit"])
                    _collect(data, TOPIC_KEYS, wanted["topic"])
                    _collect(data, POINT_KEYS, wanted["point"])
        # The log reads names as the system: an entry in the user's scope may name a unit above it
        # (a forward to the parent), which they may know the name of but not open.
        self.units = dict(Unit.objects.filter(pk__in=wanted["unit"]).values_list("pk", "name")) \
            if wanted["unit"] else {}
        self.topics = dict(Topic.objects.filter(pk__in=wanted["topic"]).values_list("pk", "name")) \
            if wanted["topic"] else {}
        self.points = dict(BridgePoint.objects.filter(pk__in=wanted["point"]).values_list("pk", "name")) \
            if wanted["point"] else {}

    def unit(self, pk) -> str:
        return self.units.get(_int(pk)) or (_("unit #%(id)s") % {"id": pk} if pk else _("(none)"))

    def topic(self, pk) -> str:
        return self.topics.get(_int(pk)) or (_("topic #%(id)s") % {"id": pk} if pk else _("no topic"))

    def point(self, pk) -> str:
        return self.points.get(_int(pk)) or (_("point #%(id)s") % {"id": pk} if pk else _("no relay"))


def _collect(data: dict, keys, into: set) -> None:
    for key in keys:
        value = _int(data.get(key))
        if value:
            into.add(value)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _get(data, key, default=None):
    return data.get(key, default) if isinstance(data, dict) else default


def describe(entries, who: Callable[[AuditEntry], str]) -> None:
    """Give each entry of a page its ``sentence``; ``who`` names the actor."""
    entries = list(entries)
    names = Names(entries)
    for entry in entries:
        renderer = RENDERERS.get(entry.action, _generic)
        sentence = renderer(entry, who(entry), names)
        entry.sentence = sentence[:1].upper() + sentence[1:]  # "hệ thống …" begins a sentence too


# --- opinions ----------------------------------------------------------------------------------
def _item(entry) -> str:
    return _("item #%(id)s") % {"id": entry.object_id}


@renders("voice.opinion.forward")
def _forward(entry, who, names):
    return _("%(who)s forwarded %(item)s from %(src)s up to %(dst)s") % {
        "who": who, "item": _item(entry), "src": names.unit(_get(entry.before, "at_unit")),
        "dst": names.unit(_get(entry.after, "at_unit"))}


@renders("voice.opinion.approve")
def _approve(entry, who, names):
    return _("%(who)s approved %(item)s") % {"who": who, "item": _item(entry)}


@renders("voice.opinion.reject")
def _reject(entry, who, names):
    return _("%(who)s rejected %(item)s") % {"who": who, "item": _item(entry)}


@renders("voice.opinion.edit")
def _edit(entry, who, names):
    return _("%(who)s corrected the text of %(item)s") % {"who": who, "item": _item(entry)}


@renders("voice.opinion.tag")
def _tag(entry, who, names):
    return _("%(who)s filed %(item)s under the topic “%(topic)s” (was “%(old)s”)") % {
        "who": who, "item": _item(entry), "topic": names.topic(_get(entry.after, "topic")),
        "old": names.topic(_get(entry.before, "topic"))}


@renders("voice.opinion.merge")
def _merge(entry, who, names):
    return _("%(who)s merged %(item)s into item #%(target)s as a duplicate") % {
        "who": who, "item": _item(entry), "target": _get(entry.after, "merged_into", "?")}


@renders("voice.opinion.on_air")
def _on_air(entry, who, names):
    return _("%(who)s put %(item)s on screen") % {"who": who, "item": _item(entry)}


@renders("voice.opinion.off_air")
def _off_air(entry, who, names):
    return _("%(who)s took %(item)s off screen") % {"who": who, "item": _item(entry)}


@renders("voice.opinion.answer")
def _answer(entry, who, names):
    return _("%(who)s recorded %(item)s as answered") % {"who": who, "item": _item(entry)}


@renders("voice.opinion.submit")
def _submit(entry, who, names):
    return _("%(who)s sent %(item)s") % {"who": who, "item": _item(entry)}


# --- units, people, points, conferences --------------------------------------------------------
def _simple(message: str):
    def render(entry, who, names):
        return _(message) % {"who": who, "object": entry.object_repr or entry.object_id}
    return render


_SIMPLE = {
    "unit.created": "%(who)s created the unit %(object)s",
    "unit.updated": "%(who)s changed the unit %(object)s",
    "person.created": "%(who)s added %(object)s to the people list",
    "person.updated": "%(who)s changed the details of %(object)s",
    "point.created": "%(who)s created the bridge point %(object)s",
    "point.updated": "%(who)s changed the bridge point %(object)s",
    "point.deleted": "%(who)s deleted the bridge point %(object)s",
    "hall.created": "%(who)s added the hall %(object)s",
    "hall.updated": "%(who)s changed the hall %(object)s",
    "conference.created": "%(who)s created the conference %(object)s",
    "conference.updated": "%(who)s changed the conference %(object)s",
    "session.created": "%(who)s added the session %(object)s",
    "session.updated": "%(who)s changed the session %(object)s",
    "session.deleted": "%(who)s deleted the session %(object)s",
    "agenda.added": "%(who)s added %(object)s to the agenda",
    "agenda.removed": "%(who)s removed %(object)s from the agenda",
    "delegation.named": "%(who)s named the delegation of %(object)s",
    "account.created": "%(who)s created the account %(object)s",
    "account.login": "%(who)s signed in",
    "account.password_changed": "%(who)s changed their password",
    "account.password_reset": "%(who)s reset the password of %(object)s",
    "plan.started": "%(who)s asked the planner for a proposal (%(object)s)",
    "live.programme": "%(who)s switched the programme to %(object)s",
    "live.floor_muted": "%(who)s muted %(object)s",
    "live.technical_check": "%(who)s recorded the technical check of %(object)s",
    "personal_data.exported": "%(who)s exported personal data (%(object)s)",
    "job.retried": "%(who)s ran the job %(object)s again",
    "role.granted": "%(who)s granted a role: %(object)s",
    "role.revoked": "%(who)s withdrew a role: %(object)s",
    "system.restored": "%(who)s restored the database from a backup",
}
for _action, _message in _SIMPLE.items():
    RENDERERS[_action] = _simple(_message)


@renders("unit.moved")
def _unit_moved(entry, who, names):
    return _("%(who)s moved the unit %(object)s from %(src)s to %(dst)s") % {
        "who": who, "object": entry.object_repr, "src": names.unit(_get(entry.before, "parent_id")),
        "dst": names.unit(_get(entry.after, "parent_id"))}


@renders("point.relay_changed")
def _relay(entry, who, names):
    return _("%(who)s made %(object)s relay through %(dst)s (was %(src)s)") % {
        "who": who, "object": entry.object_repr, "dst": names.point(_get(entry.after, "relay_parent")),
        "src": names.point(_get(entry.before, "relay_parent"))}


@renders("point.readiness")
def _readiness(entry, who, names):
    state = _get(entry.after, "readiness", "")
    label = dict(BridgePoint.Readiness.choices).get(state, state)
    return _("%(who)s marked %(object)s as “%(state)s”") % {"who": who, "object": entry.object_repr,
                                                           "state": label}


@renders("point.checked")
def _checked(entry, who, names):
    passed = _get(entry.after, "check_result") == BridgePoint.CheckResult.PASSED
    message = (_("%(who)s recorded that %(object)s passed its technical check") if passed
               else _("%(who)s recorded the technical check of %(object)s"))
    return message % {"who": who, "object": entry.object_repr}


@renders("import.applied")
def _import(entry, who, names):
    return _("%(who)s imported the file %(file)s") % {"who": who,
                                                     "file": _get(entry.after, "filename", entry.object_repr)}


def _generic(entry, who, names):
    return _("%(who)s: %(action)s on %(object)s") % {"who": who, "action": entry.action,
                                                     "object": entry.object_repr or entry.object_id or "—"}


@renders("voice.opinion.bulk_approve")
def _bulk_approve(entry, who, names):
    return _("%(who)s approved %(n)s items at once") % {"who": who, "n": len(_get(entry.after, "items", []))}


@renders("voice.opinion.bulk_forward")
def _bulk_forward(entry, who, names):
    return _("%(who)s forwarded %(n)s items up at once") % {"who": who, "n": len(_get(entry.after, "items", []))}
