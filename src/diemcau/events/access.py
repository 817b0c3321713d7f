"""Who sees a conference (hội nghị) and who directs it: one rule each, used by every module.

- **Sees** (takes part in, watches): the conference is hosted in one of the user's subtrees or in a
  unit above them (their "line"): a Ba Vì organiser sees the ministry's conference and Ba Vì's,
  not Sóc Sơn's. Voice (opinions), live (programme, HLS, boards), attendance (boards) and the
  conference pages all ask :func:`visible_conferences` / :func:`visible_conference`.
- **Directs** (the live programme, the floor, the question on screen): a national organiser, or a
  director whose director assignment covers the host unit (an unscoped director covers every
  conference). Other roles the director holds (moderator, organiser) give no right to direct; the
  director role gives no moderation rights. Whoever directs also sees.

The table of roles × conferences is ``tests/events/test_access.py``. Points have their own rule
(``points.access``: who operates a point).
"""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from diemcau.core.errors import ScopeError
from diemcau.orgs.models import PATH_STEP, Role, RoleAssignment
from diemcau.orgs.scoping import SYSTEM, scope_for

from .models import Conference


def upstream_paths(paths: list[str]) -> set[str]:
    """Every path above (and including) the given ones: the units a user's subtrees hang from."""
    result = set()
    for p in paths:
        for end in range(PATH_STEP, len(p) + 1, PATH_STEP):
            result.add(p[:end])
    return result


def line_q(user, path_field: str) -> Q:
    """Rows whose unit lies in the user's subtrees or directly above them (their "line").

    A Ba Vì organiser sees the ministry's conference and the Hà Nội relay point it hangs from,
    but nothing of Sóc Sơn. Built on :func:`scope_for`, the one scoping helper.
    """
    scope = scope_for(user)
    if scope.reads_everything:
        return Q()
    return scope.q(path_field, "read") | Q(**{f"{path_field}__in": upstream_paths(scope.read_paths)})


def visible_conferences(user) -> QuerySet:
    """Conferences hosted in the user's subtrees or above them (the ones that concern them)."""
    if user is SYSTEM:
        return Conference.objects.select_related("host_unit")
    if scope_for(user).is_empty:
        return Conference.objects.none()
    return Conference.objects.filter(line_q(user, "host_unit__path")).select_related("host_unit")


def in_line(user, path: str) -> bool:
    """:func:`line_q` for one path, decided in Python from the user's scope (no query of its own)."""
    scope = scope_for(user)
    if scope.is_empty:
        return False
    return scope.reads_everything or scope.covers(path, "read") or path in upstream_paths(scope.read_paths)


def sees_conference(user, conference: Conference) -> bool:
    """True when ``conference`` is one of :func:`visible_conferences` (no query for the system actor).

    With the conference's host unit loaded (``select_related("host_unit")``, as the hot paths load
    it) the rule is decided on its path (:func:`in_line`, the same line as :func:`line_q`), without a
    query; otherwise the database answers.
    """
    if user is SYSTEM:
        return True
    if Conference.host_unit.is_cached(conference):
        return in_line(user, conference.host_unit.path)
    return visible_conferences(user).filter(pk=conference.pk).exists()


def visible_conference(user, conference_id) -> Conference:
    """The conference if the user sees it; :class:`ScopeError` (shown as a 404) as if absent otherwise."""
    conference = visible_conferences(user).filter(pk=conference_id).first()
    if conference is None:
        raise ScopeError()
    return conference


def require_sees(user, conference: Conference) -> Conference:
    """Raise :class:`ScopeError` unless the user sees ``conference``."""
    if not sees_conference(user, conference):
        raise ScopeError()
    return conference


def can_direct(user, conference: Conference) -> bool:
    """True when ``user`` directs the conference's live programme (the rule in the module docstring)."""
    if user is SYSTEM:
        return True
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    scope = scope_for(user)
    if scope.has_role(Role.NATIONAL_ORGANISER):
        return True
    if not scope.has_role(Role.DIRECTOR):
        return False
    host = conference.host_unit.path
    return any(unit_path is None or host.startswith(unit_path) for unit_path in RoleAssignment.objects.filter(
        user=user, role=Role.DIRECTOR).values_list("unit__path", flat=True))


def require_director(user, conference: Conference) -> None:
    """Raise :class:`ScopeError` (code ``not_director``) unless ``user`` directs ``conference``."""
    if not can_direct(user, conference):
        raise ScopeError(_("Only the programme director may do this."), "not_director")


def can_manage(user, conference: Conference) -> bool:
    """True when the user may change the conference itself (its sessions and agenda)."""
    return user is SYSTEM or scope_for(user).can_change(conference.host_unit)
