"""Who may see and change which part of the tree: the one scoping helper every view uses.

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
scoped list is one indexed query. Code that must bypass the scope (commands run by support
staff, the demo loader) does so explicitly and says why.
"""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from .errors import ScopeError

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
        from diemcau.orgs.models import path_upper_bound

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
        from diemcau.orgs.models import Unit

        return self.filter(Unit.objects.all(), "path", mode)

    def people(self, mode: str = "read") -> QuerySet:
        from diemcau.orgs.models import Person

        return self.filter(Person.objects.all(), "unit__path", mode)

    def roots(self, mode: str = "read") -> QuerySet:
        """The top units of the scope: where the user's tree view starts."""
        from diemcau.orgs.models import Unit

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


def build_scope(user) -> Scope:
    """Compute a user's scope from their role assignments (one query)."""
    from diemcau.orgs.models import Role, RoleAssignment, Unit

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
    """The user's scope, computed once per request (cached on the user object)."""
    cached = getattr(user, "_diemcau_scope", None)
    if cached is None:
        cached = build_scope(user)
        try:
            user._diemcau_scope = cached
        except AttributeError:  # AnonymousUser and other read-only stand-ins
            pass
    return cached


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
