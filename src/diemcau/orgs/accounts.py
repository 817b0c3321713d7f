"""Passwords: each user changes their own; an organiser resets one in their subtree.

The rule of who may reset whose password is :func:`may_reset_password`, and only it.
A reset sets a generated temporary password (shown once to the organiser, never stored in clear
nor logged) and opens a :class:`~.models.PasswordReset`; until its owner changes the password,
every page sends them to do so (``core.middleware.PasswordChangeRequiredMiddleware``).
"""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.orgs.scoping import scope_for

from .models import PasswordReset, Person, Role, RoleAssignment

# No 0/O, 1/l/i: the organiser reads it out on the phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _anchors(user) -> tuple[list[str], bool, bool]:
    """The tree paths the account belongs to (its roles' units, its person's unit), whether it
    holds a role over no unit (national organiser, director, analyst), and whether one of its
    roles is national organiser."""
    paths, unscoped, national = [], False, False
    for role, path in RoleAssignment.objects.filter(user=user).values_list("role", "unit__path"):
        national |= role == Role.NATIONAL_ORGANISER
        if path is None:
            unscoped = True
        else:
            paths.append(path)
    paths += Person.objects.filter(user=user).values_list("unit__path", flat=True)
    return paths, unscoped, national


def may_reset_password(actor, target) -> bool:
    """True when ``actor`` may give ``target`` a temporary password.

    Organisers (unit or national) may, for accounts whose every role unit and person unit lie in
    their write scope; accounts with a role over no unit only by a national organiser. Never: one's
    own account, a national organiser, a superuser or a staff account (support staff, admin).
    """
    if target is None or actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if target.pk == actor.pk or target.is_superuser or target.is_staff:
        return False
    scope = scope_for(actor)
    if not scope.write_paths:
        return False
    paths, unscoped, national = _anchors(target)
    if national:
        return False
    if unscoped or not paths:
        return scope.writes_everything
    return all(scope.covers(p, "write") for p in paths)


def resettable_accounts(actor, query: str = "") -> QuerySet:
    """Accounts of the actor's subtree (by role or person), for the reset page; the rule itself is
    :func:`may_reset_password`, which the page applies to each row."""
    User = get_user_model()
    scope = scope_for(actor)
    qs = User.objects.filter(is_active=True, is_superuser=False, is_staff=False).exclude(pk=actor.pk)
    if not scope.writes_everything:
        units = scope.units("write")
        qs = qs.filter(Q(roles__unit__in=units) | Q(person__unit__in=units))
    query = (query or "").strip()
    if query:
        qs = qs.filter(Q(username__icontains=query) | Q(first_name__icontains=query)
                       | Q(last_name__icontains=query) | Q(person__full_name__icontains=query))
    return qs.select_related("person__unit").distinct().order_by("username")


def temporary_password() -> str:
    """Twelve letters and digits in three groups, e.g. ``k7dm-x2pa-9hfz``."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def _unit_path(user) -> str:
    paths, _unscoped, _national = _anchors(user)
    return min(paths, key=len) if paths else ""


def reset_password(actor, target, *, ip=None) -> str:
    """Give ``target`` a new temporary password and return it (to be shown once, then forgotten).

    Every session of ``target`` ends (its password hash changed); it must change the password
    at its next sign-in.
    """
    if not may_reset_password(actor, target):
        raise DomainError(_("You may not reset this account's password."), "reset_not_allowed")
    password = temporary_password()
    with transaction.atomic():
        target.set_password(password)
        target.save(update_fields=["password"])
        PasswordReset.objects.create(user=target, reset_by=actor)
        audit.record(actor, "account.password_reset", target, object_repr=target.get_username(),
                     unit_path=_unit_path(target), ip=ip,
                     after={"username": target.get_username(), "must_change": True})
    return password


def change_own_password(user, new_password: str, *, ip=None):
    """Set ``user``'s password (already validated by the form) and close any open reset."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        closed = PasswordReset.objects.filter(user=user, changed_at__isnull=True).update(changed_at=timezone.now())
        audit.record(user, "account.password_changed", user, object_repr=user.get_username(),
                     unit_path=_unit_path(user), ip=ip, after={"after_reset": bool(closed)})


def must_change_password(user) -> bool:
    """True while an organiser's reset of ``user``'s password is not followed by a change."""
    return PasswordReset.objects.filter(user=user, changed_at__isnull=True).exists()
