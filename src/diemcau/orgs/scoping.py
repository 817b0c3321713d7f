"""Who may see and change which part of the tree: the one scoping helper, and the guard that enforces it.

A user's scope is a set of subtrees (tree paths) they may read and a set they may change,
derived from their role assignments:

| role               | reads                         | changes                         |
|--------------------|-------------------------------|---------------------------------|
| national organiser | everything                    | everything                      |
| unit organiser     | their unit's subtree          | their unit's subtree            |
| principal          | their institution             | their institution's people      |
| moderator          | their unit's subtree          | nothing in the tree; moderates opinions there ("moderate") |
| director, analyst  | everything                    | nothing in the tree             |
| point operator     | the host unit of their point  | nothing in the tree             |
| participant        | their own unit                | nothing                         |

Querysets are filtered with :meth:`Scope.filter`, which turns the subtrees into path ranges, so a
scoped list is one indexed query.

Scope as a guard (docs/ARCHITECTURE.md, "Access and scope"): a context variable holds the active
scope, or the system actor. The request middleware (:class:`ScopeMiddleware`) activates the signed-in
user's scope, built at most once per request and kept on the request; consumers activate a freshly
built one per message or tick (a websocket lives for hours: a revoked role must count at once);
jobs, commands and loaders say ``with system_scope("why"):``. The managers of the scoped models
(units, people, bridge points, opinions) refuse a query when nothing is active
(``core.acting.ScopeMissing``), so a forgotten scope is an error, never a leak. The scope is never cached
on a user object.
"""

import weakref
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q, QuerySet

from diemcau.core.acting import Activation, activate, current, require_active, system_scope
from diemcau.core.errors import ScopeError

EVERYTHING = ""  # the empty path prefix: the whole tree


@dataclass
class Scope:
    """The subtrees one user may read and change."""

    user: object
    read_paths: list[str] = field(default_factory=list)
    write_paths: list[str] = field(default_factory=list)
    # Principals change their institution's people but not the unit record itself.
    people_write_paths: list[str] = field(default_factory=list)
    # Opinion moderators act on the subtrees of their moderator assignments only (not on the unit
    # they happen to belong to as a participant).
    moderate_paths: list[str] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)

    # --- questions ------------------------------------------------------------------------
    @property
    def reads_everything(self) -> bool:
        return EVERYTHING in self.read_paths

    @property
    def writes_everything(self) -> bool:
        return EVERYTHING in self.write_paths

    @property
    def is_empty(self) -> bool:
        return not self.read_paths

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def _paths(self, mode: str) -> list[str]:
        if mode == "read":
            return self.read_paths
        if mode == "write":
            return self.write_paths
        if mode == "people":
            return self.people_write_paths
        if mode == "moderate":
            return self.moderate_paths
        raise ValueError(mode)

    def covers(self, path: str, mode: str = "read") -> bool:
        """True when the node at ``path`` lies inside one of the user's subtrees."""
        return any(path.startswith(p) for p in self._paths(mode))

    def can_see(self, unit) -> bool:
        return unit is not None and self.covers(unit.path, "read")

    def can_change(self, unit) -> bool:
        return unit is not None and self.covers(unit.path, "write")

    def can_change_people(self, unit) -> bool:
        return unit is not None and self.covers(unit.path, "people")

    def require(self, unit, mode: str = "read"):
        """Raise :class:`ScopeError` unless ``unit`` lies in the user's scope for ``mode``."""
        if unit is None or not self.covers(unit.path, mode):
            raise ScopeError()
        return unit

    # --- querysets ------------------------------------------------------------------------
    def q(self, path_field: str = "path", mode: str = "read") -> Q:
        """A filter matching rows whose ``path_field`` lies in the scope (no rows if empty)."""
        from .models import path_upper_bound  # the models import this module (their managers)

        paths = _minimal(self._paths(mode))
        if EVERYTHING in paths:
            # Not Q(): an empty Q is dropped when OR-ed with another condition ("everything or X"
            # would become "X"); this one is always true and compiles to no WHERE at all.
            return ~Q(pk__in=[])
        if not paths:
            return Q(pk__in=[])
        condition = Q()
        for p in paths:
            condition |= Q(**{f"{path_field}__gte": p, f"{path_field}__lt": path_upper_bound(p)})
        return condition

    def filter(self, qs: QuerySet, path_field: str = "path", mode: str = "read") -> QuerySet:
        return qs.filter(self.q(path_field, mode))

    def units(self, mode: str = "read") -> QuerySet:
        from .models import Unit  # the models import this module (their managers)

        return self.filter(Unit.objects.all(), "path", mode)

    def people(self, mode: str = "read") -> QuerySet:
        from .models import Person  # the models import this module (their managers)

        return self.filter(Person.objects.all(), "unit__path", mode)

    def roots(self, mode: str = "read") -> QuerySet:
        """The top units of the scope: where the user's tree view starts."""
        from .models import Unit  # the models import this module (their managers)

        paths = _minimal(self._paths(mode))
        if EVERYTHING in paths:
            return Unit.objects.filter(parent__isnull=True)
        return Unit.objects.filter(path__in=paths)


def _minimal(paths: list[str]) -> list[str]:
    """Drop paths already covered by a shorter one in the list."""
    result = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in result):
            result.append(p)
    return result


def write_scope_sql(path_sql: str) -> str:
    """The write half of :func:`build_scope`'s roles as SQL, for a check folded into one statement:
    true when the account (the one parameter, ``%s``) changes the node at ``path_sql`` by a role
    assignment (a national organiser, or a unit organiser above it). A superuser or an inactive
    account is the caller's to decide (build_scope reads them from the user object)."""
    return ("EXISTS (SELECT 1 FROM orgs_roleassignment w LEFT JOIN orgs_unit wu ON wu.id = w.unit_id"
            " WHERE w.user_id = %s AND (w.role = 'national_organiser' OR (w.role = 'unit_organiser'"
            f" AND substr({path_sql}, 1, length(wu.path)) = wu.path)))")


def build_scope(user) -> Scope:
    """Compute a user's scope from their role assignments (one query)."""
    from .models import Role, RoleAssignment, Unit  # the models import this module (their managers)

    scope = Scope(user=user)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return scope
    if user.is_superuser:
        scope.roles.add(Role.NATIONAL_ORGANISER)
        scope.read_paths = scope.write_paths = scope.people_write_paths = [EVERYTHING]
        scope.moderate_paths = [EVERYTHING]
        return scope
    assignments = RoleAssignment.objects.filter(user=user).select_related("unit")
    for a in assignments:
        scope.roles.add(a.role)
        unit_path = a.unit.path if a.unit_id else None
        if a.role == Role.NATIONAL_ORGANISER:
            scope.read_paths.append(EVERYTHING)
            scope.write_paths.append(EVERYTHING)
            scope.people_write_paths.append(EVERYTHING)
            scope.moderate_paths.append(EVERYTHING)
        elif a.role in (Role.DIRECTOR, Role.ANALYST):
            scope.read_paths.append(unit_path or EVERYTHING)
        elif a.role == Role.UNIT_ORGANISER and unit_path:
            scope.read_paths.append(unit_path)
            scope.write_paths.append(unit_path)
            scope.people_write_paths.append(unit_path)
        elif a.role == Role.PRINCIPAL and unit_path:
            scope.read_paths.append(unit_path)
            scope.people_write_paths.append(unit_path)
        elif a.role in (Role.MODERATOR, Role.POINT_OPERATOR, Role.PARTICIPANT) and unit_path:
            scope.read_paths.append(unit_path)
            if a.role == Role.MODERATOR:
                scope.moderate_paths.append(unit_path)
    person_unit_path = (
        Unit.objects.filter(people__user=user).values_list("path", flat=True).first()
    )
    if person_unit_path:
        scope.roles.add(Role.PARTICIPANT)
        scope.read_paths.append(person_unit_path)
    scope.read_paths = _minimal(scope.read_paths)
    scope.write_paths = _minimal(scope.write_paths)
    scope.people_write_paths = _minimal(scope.people_write_paths)
    scope.moderate_paths = _minimal(scope.moderate_paths)
    return scope


def scope_for(user) -> Scope:
    """The user's scope: the active one when it is this user's (built once per request), else built
    once per activation (a job acting for its owner), else fresh.

    Never cached on the user object: a websocket keeps its user for hours, and a role revoked in
    between must count at the next message.
    """
    active = current()
    if isinstance(active, _UserActivation) and _same_user(active.user, user):
        return active.scope
    if active is None or getattr(active, "fresh", False) or not getattr(user, "is_authenticated", False):
        return build_scope(user)
    # Another user object acted upon under this activation (a job for its owner): its scope is built
    # once for the block, as long as the same object is used (a reloaded user is built afresh).
    entry = active.memo.get(id(user))
    if entry is None or entry[0]() is not user:
        entry = active.memo[id(user)] = (weakref.ref(user), build_scope(user))
    return entry[1]


def _same_user(a, b) -> bool:
    if a is b:
        return True
    pk = getattr(a, "pk", None)
    return pk is not None and pk == getattr(b, "pk", None) and getattr(b, "is_authenticated", False)


class SystemActor:
    """The actor of commands run by support staff and loaders: acts with the system's authority.

    Services take it explicitly; ``None`` is never taken to mean "no check".
    """

    is_authenticated = False
    is_active = True
    is_superuser = False
    pk = None

    def __str__(self):
        return "system"


SYSTEM = SystemActor()


def require_scope(user, unit, mode: str = "read"):
    """Shorthand used by services: raise unless ``user`` may act on ``unit`` in ``mode``."""
    if user is SYSTEM:
        return unit
    if unit is None or not scope_for(user).covers(unit.path, mode):
        raise ScopeError()
    return unit


# --- the guard (core.acting holds the active actor; this module activates users' scopes) ------------
class _UserActivation(Activation):
    """A user's scope, active: built on first use and kept for the block, or (``fresh``) built at every use."""

    __slots__ = ("_scope", "fresh", "user")

    def __init__(self, user, scope: Scope | None = None, fresh: bool = False):
        super().__init__()
        self.user, self._scope, self.fresh = user, scope, fresh

    @property
    def scope(self) -> Scope:
        if self.fresh:
            return build_scope(self.user)
        if self._scope is None:
            self._scope = build_scope(self.user)
        return self._scope


def acting_as(user_or_scope):
    """Activate a user's scope (built at most once, on first use) or a given :class:`Scope` for a block.

    Consumers call it per message or tick with the user reloaded (:func:`current_user`).
    """
    if user_or_scope is SYSTEM:
        return system_scope("acting as the system actor")
    if isinstance(user_or_scope, Scope):
        return activate(_UserActivation(user_or_scope.user, user_or_scope))
    return activate(_UserActivation(user_or_scope))


def current_user(user):
    """``user`` as the database has it now, or ``None`` when gone or deactivated.

    A websocket keeps its user object for hours; consumers call this per message or tick and
    build the scope afresh from it (:func:`acting_as`), so a revoked role counts at once.
    """
    from django.contrib.auth import get_user_model  # the user model is ready only once apps are

    pk = getattr(user, "pk", None)
    if pk is None or not getattr(user, "is_authenticated", False):
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


def forget_scope(user) -> None:
    """Drop the active scope if it is ``user``'s (their roles just changed); it is rebuilt on next use."""
    active = current()
    if isinstance(active, _UserActivation) and _same_user(active.user, user):
        active._scope = None
    if active is not None:
        active.memo.pop(id(user), None)


def active_scope() -> Scope | None:
    """The active user's scope; ``None`` when the system (or nothing) is active."""
    active = current()
    return active.scope if isinstance(active, _UserActivation) else None


class ScopedQuerySet(QuerySet):
    """A query of a scoped model: refused when it reaches the database with no scope active.

    Checked when the query runs, not when it is built, so querysets made at import time (form
    fields, admin options) are fine. It guards, it does not filter: services still filter with
    :meth:`Scope.filter`. Writes through ``save()`` use the base manager and are not guarded.
    """

    def _guard(self):
        require_active(self.model._meta.label)

    def _fetch_all(self):
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._guard()
        yield from super()._iterator(use_chunked_fetch, chunk_size)

    def count(self):
        if self._result_cache is None:
            self._guard()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._guard()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._guard()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._guard()
        return super().update(**kwargs)

    def delete(self):
        self._guard()
        return super().delete()


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):
    """The default manager of a scoped model (units, people, bridge points, opinions).

    Not used in migrations (historical models get plain managers); related managers
    (``unit.children``) and the admin go through it; forward relations and ``select_related``
    read through the base manager, which stays plain (an object already reached is not a list).
    """

    use_in_migrations = False


class ScopeMiddleware:
    """Activate the signed-in user's scope for the request (built at most once, kept on the request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        activation = _UserActivation(getattr(request, "user", None))
        request.user_scope = _LazyScope(activation)
        with activate(activation):
            return self.get_response(request)


class _LazyScope:
    """The request's scope, built on first use (a page that needs none costs nothing)."""

    __slots__ = ("_activation",)

    def __init__(self, activation: _UserActivation):
        self._activation = activation

    def __getattr__(self, name):
        return getattr(self._activation.scope, name)


class WebsocketScopeMiddleware:
    """Channels middleware: while a socket is open, its user's scope is built afresh at every use.

    A safety net under the consumers, which activate a scope built once per message or tick
    (:func:`acting_as`); nothing here is cached, so a role revoked mid-socket counts at once.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        with activate(_UserActivation(scope.get("user"), fresh=True)):
            return await self.app(scope, receive, send)
