"""The rules of the organisation tree: units, people, roles. Views and imports call these.

Every function that changes state takes the acting user first, checks their scope, validates,
writes inside one transaction and appends an audit entry.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Concat, Length, Substr
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core import audit, vntext
from diemcau.core.edits import set_fields
from diemcau.core.errors import DomainError
from diemcau.core.vntext import by_name, has_markup, looks_like_legacy_font, nfc, search_terms
from diemcau.orgs.scoping import SYSTEM, forget_scope, require_scope, scope_for

from .models import PATH_STEP, Person, Role, RoleAssignment, Unit, path_segment, path_upper_bound
from .role_signals import role_changed

UNIT_FIELDS = [
    "kind", "kind_label", "code", "name", "short_name", "commune", "address", "latitude", "longitude",
    "levels", "managers_count", "teachers_count", "staff_count", "admin_area_id", "is_active",
]
PERSON_FIELDS = ["code", "full_name", "category", "position", "phone", "email", "unit_id", "is_active"]


# --- queries ----------------------------------------------------------------------------------
def subtree(unit: Unit, include_self: bool = True) -> QuerySet:
    """All units below ``unit`` in one index range query on the materialised path."""
    low, high = unit.subtree_bounds()
    qs = Unit.objects.filter(path__gte=low, path__lt=high)
    if not include_self:
        qs = qs.exclude(pk=unit.pk)
    return qs


def ancestors(unit: Unit) -> QuerySet:
    """The chain from the root down to ``unit``'s parent, in order."""
    ids = unit.ancestor_ids()[:-1]
    return Unit.objects.filter(pk__in=ids).order_by("depth")


def people_in(unit: Unit) -> QuerySet:
    low, high = unit.subtree_bounds()
    return Person.objects.filter(unit__path__gte=low, unit__path__lt=high)


def search_units(user, query: str, limit: int = 50, within: Unit | None = None) -> QuerySet:
    """Units in the user's scope whose name, short name or code contain every word of ``query``.

    Diacritics and case are ignored: "ba vi", "BA VÌ" and "Ba Vì" find the same units.
    """
    qs = scope_for(user).units()
    if within is not None:
        qs = qs.filter(path__gte=within.path, path__lt=path_upper_bound(within.path))
    for term in search_terms(query):
        qs = qs.filter(name_search__contains=term)
    return qs.order_by("depth", by_name())[:limit]


def search_people(user, query: str, within: Unit | None = None) -> QuerySet:
    qs = scope_for(user).people()
    if within is not None:
        low, high = within.subtree_bounds()
        qs = qs.filter(unit__path__gte=low, unit__path__lt=high)
    for term in search_terms(query):
        qs = qs.filter(Q(name_search__contains=term) | Q(code__iexact=term))
    return qs


def unit_counts(unit: Unit) -> dict:
    """Units by kind and people by category in ``unit``'s subtree."""
    from django.db.models import Count

    units = subtree(unit)
    by_kind = dict(units.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    declared, people = _declared_and_listed(unit)
    return {
        "units": sum(by_kind.values()),
        "by_kind": by_kind,
        "institutions": by_kind.get(Unit.Kind.INSTITUTION, 0),
        "declared": declared,
        "people": people,
        "people_total": sum(people.values()),
        "roster_gaps": roster_gaps(declared, people),
    }


def _declared_and_listed(unit: Unit) -> tuple[dict, dict]:
    """The declared headcounts summed over ``unit``'s subtree, and its active people per category."""
    from django.db.models import Count, Sum

    declared = subtree(unit).aggregate(
        managers=Sum("managers_count"), teachers=Sum("teachers_count"), staff=Sum("staff_count")
    )
    people = dict(
        people_in(unit).filter(is_active=True).values_list("category").annotate(n=Count("id"))
        .values_list("category", "n")
    )
    return {k: v or 0 for k, v in declared.items()}, people


def unit_roster_gaps(unit: Unit) -> list[dict]:
    """:func:`roster_gaps` of ``unit``'s subtree alone (two queries), for pages that show only the warning."""
    return roster_gaps(*_declared_and_listed(unit))


# The declared headcount field of each category of people.
_DECLARED_OF = {Person.Category.MANAGEMENT: "managers", Person.Category.TEACHER: "teachers",
                Person.Category.STAFF: "staff"}


def roster_gaps(declared: dict, people: dict) -> list[dict]:
    """Where the declared headcounts and the imported roster disagree, per category of people.

    Nothing when no one was imported yet (a roster not loaded is not a disagreement) or when
    nothing was declared.
    """
    if not sum(people.values()) or not sum(declared.values()):
        return []
    gaps = []
    for category, key in _DECLARED_OF.items():
        expected, listed = declared.get(key, 0), people.get(category, 0)
        if expected != listed:
            gaps.append({"category": category, "label": Person.Category(category).label,
                         "declared": expected, "listed": listed, "difference": listed - expected})
    return gaps


def institutions_by_level(unit: Unit) -> list[dict]:
    """Institutions in ``unit``'s subtree per level of education (one query), for charts."""
    from .models import EducationLevel

    masks = list(
        subtree(unit).filter(kind=Unit.Kind.INSTITUTION, is_active=True).values_list("levels", flat=True)
    )
    rows = []
    for bit, key, label in EducationLevel.CHOICES:
        n = sum(1 for m in masks if m & bit)
        if n:
            rows.append({"key": key, "label": str(label), "count": n})
    return rows


# --- personal data: who sees contacts, and the trail of every export -----------------------------
def can_see_contacts(user, unit: Unit) -> bool:
    """True when ``user`` may read the phone numbers and e-mails of the people of ``unit``'s subtree.

    Organisers whose subtree covers the unit (national and unit organisers) and the head of that
    institution (principal); nobody else, whatever else they may read (colleagues, point operators,
    moderators, directors, analysts). The one rule for every page, API and export with contacts.
    """
    if user is SYSTEM:
        return True
    scope = scope_for(user)
    if not scope.has_role(Role.NATIONAL_ORGANISER, Role.UNIT_ORGANISER, Role.PRINCIPAL):
        return False
    # Organisers and principals are exactly those who change people there ("people" paths).
    return unit is not None and scope.covers(unit.path, "people")


def record_personal_export(user, export: str, unit: Unit | None, *, rows: int, filters: dict | None = None,
                           contacts: bool = False):
    """Append the audit entry of one export of personal data: who, which export, its filters, how many rows.

    Called by every listing of people that leaves the screen (.xlsx, a sheet to print). The entry
    holds no personal data itself: counts and filters only.
    """
    return audit.record(
        _actor(user), "personal_data.exported", unit, object_type="orgs.unit" if unit is not None else "",
        after={"export": export, "rows": int(rows), "filters": filters or {}, "contacts": bool(contacts)},
    )


# --- validation -------------------------------------------------------------------------------
def clean_text(value, field_label, *, required=False, max_length=255, kind=vntext.NAME) -> str:
    """NFC-normalise one text value and refuse markup, legacy-font text, over-long input and the
    characters ``vntext.clean_text`` refuses (controls, invisible and bidi characters...)."""
    text = nfc(value or "")
    if required and not text:
        raise DomainError(_("%(field)s is required.") % {"field": field_label}, "required")
    if len(text) > max_length:
        raise DomainError(
            _("%(field)s is longer than %(max)d characters.") % {"field": field_label, "max": max_length},
            "too_long",
        )
    if has_markup(text):
        raise DomainError(
            _("%(field)s must not contain the characters < or >.") % {"field": field_label}, "markup"
        )
    if looks_like_legacy_font(text):
        raise DomainError(
            _("%(field)s looks like text in a legacy font (TCVN3/VNI). Convert it to Unicode first.")
            % {"field": field_label},
            "legacy_font",
        )
    # After the legacy-font check: TCVN3 text holds soft hyphens, and its own message is the useful one.
    vntext.check_chars(str(value or ""), field_label, kind=kind)
    return text


def clean_code(value, field_label) -> str:
    code = clean_text(value, field_label, required=True, max_length=32, kind=vntext.CODE)
    if any(ch.isspace() for ch in code):
        raise DomainError(_("%(field)s must not contain spaces.") % {"field": field_label}, "bad_code")
    return code


# Labels for messages, translated only when a message is shown: imports check thousands of rows.
UNIT_LABELS = {
    "code": gettext_lazy("Code"), "name": gettext_lazy("Name"), "short_name": gettext_lazy("Short name"),
    "kind_label": gettext_lazy("Kind label"), "commune": gettext_lazy("Commune"),
    "address": gettext_lazy("Address"),
}
PERSON_LABELS = {
    "code": gettext_lazy("Personal code"), "full_name": gettext_lazy("Full name"),
    "position": gettext_lazy("Position"), "phone": gettext_lazy("Phone"), "email": gettext_lazy("Email"),
}


def check_unit(unit: Unit, *, check_duplicate: bool = True) -> list[tuple[str, DomainError]]:
    """Normalise a unit's own fields in place and return every problem as (field, error).

    Forms stop at the first problem; imports report them all, by row and column.
    """
    problems = []
    _clean_field(problems, unit, "code", clean_code, UNIT_LABELS)
    _clean_field(problems, unit, "name", clean_text, UNIT_LABELS, required=True)
    _clean_field(problems, unit, "short_name", clean_text, UNIT_LABELS, max_length=100)
    _clean_field(problems, unit, "kind_label", clean_text, UNIT_LABELS, max_length=100)
    _clean_field(problems, unit, "commune", clean_text, UNIT_LABELS, max_length=150)
    _clean_field(problems, unit, "address", clean_text, UNIT_LABELS, max_length=300)
    if unit.kind not in Unit.Kind.values:
        problems.append(("kind", DomainError(_("Unknown kind of unit: %(kind)s.") % {"kind": unit.kind},
                                             "bad_kind")))
    if unit.latitude is not None and not -90 <= float(unit.latitude) <= 90:
        problems.append(("latitude", DomainError(_("Latitude must lie between -90 and 90."), "bad_latitude")))
    if unit.longitude is not None and not -180 <= float(unit.longitude) <= 180:
        problems.append(("longitude", DomainError(_("Longitude must lie between -180 and 180."),
                                                  "bad_longitude")))
    for f in ("managers_count", "teachers_count", "staff_count", "levels"):
        if getattr(unit, f) is None or int(getattr(unit, f)) < 0:
            problems.append((f, DomainError(_("Counts must be whole numbers of zero or more."), "bad_count")))
    if check_duplicate and not problems:
        duplicate = Unit.objects.filter(code=unit.code).exclude(pk=unit.pk).first()
        if duplicate is not None:
            problems.append(("code", DomainError(
                _("The code %(code)s is already used by %(name)s.") % {"code": unit.code, "name": duplicate.name},
                "duplicate_code",
            )))
    return problems


_PERSON_CATEGORIES = frozenset(Person.Category.values)  # read once: imports check every row

# A person's text fields and how each is cleaned.
PERSON_TEXT = (("code", clean_code, {}), ("full_name", clean_text, {"required": True, "max_length": 150}),
                ("position", clean_text, {"max_length": 150}), ("phone", clean_text, {"max_length": 20}),
                ("email", clean_text, {"max_length": 254}))


def check_person(person: Person, *, check_duplicate: bool = True, fields=None) -> list[tuple[str, DomainError]]:
    """Normalise a person's own fields in place and return every problem as (field, error).

    ``fields``: only these text fields (an import's row against a stored person: the values it
    does not change were checked when they were stored); every field when None.
    """
    problems = []
    for name, cleaner, options in PERSON_TEXT:
        if fields is None or name in fields:
            _clean_field(problems, person, name, cleaner, PERSON_LABELS, **options)
    if person.category not in _PERSON_CATEGORIES:
        problems.append(("category", DomainError(_("Unknown category: %(c)s.") % {"c": person.category},
                                                 "bad_category")))
    if person.phone and (fields is None or "phone" in fields) and not all(
            ch.isdigit() or ch in "+ .-()" for ch in person.phone):
        problems.append(("phone", DomainError(_("The phone number may contain only digits."), "bad_phone")))
    if person.email and (fields is None or "email" in fields) and not any(f == "email" for f, _e in problems):
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(person.email)
        except ValidationError:
            problems.append(("email", DomainError(_("The email address is not valid."), "bad_email")))
    if check_duplicate and not problems:
        duplicate = Person.objects.filter(code=person.code).exclude(pk=person.pk).first()
        if duplicate is not None:
            problems.append(("code", DomainError(
                _("The personal code %(code)s is already used by %(name)s.")
                % {"code": person.code, "name": duplicate.full_name},
                "duplicate_code",
            )))
    return problems


def _clean_field(problems: list, obj, field: str, cleaner, labels: dict, **options):
    try:
        setattr(obj, field, cleaner(getattr(obj, field), labels[field], **options))
    except DomainError as exc:
        problems.append((field, exc))


def _validate_unit(unit: Unit):
    problems = check_unit(unit)
    if problems:
        raise problems[0][1]


def _validate_person(person: Person):
    problems = check_person(person)
    if problems:
        raise problems[0][1]


# --- units ------------------------------------------------------------------------------------
def _set_path(unit: Unit, parent: Unit | None):
    unit.path = (parent.path if parent else "") + path_segment(unit.pk)
    unit.depth = parent.depth + 1 if parent else 0
    Unit.objects.filter(pk=unit.pk).update(path=unit.path, depth=unit.depth)


@transaction.atomic
def create_unit(actor, *, parent: Unit | None, **fields) -> Unit:
    """Create a unit under ``parent`` (a root unit only for national organisers)."""
    if parent is None:
        if actor is not SYSTEM and not scope_for(actor).writes_everything:
            raise DomainError(_("Only national organisers can create a top-level unit."), "out_of_scope")
    else:
        require_scope(actor, parent, "write")
    unit = Unit(parent=parent, path="", **fields)
    _validate_unit(unit)
    # A unique placeholder until the id is known; the path is the id chain.
    unit.path = "~" + unit.code
    unit.save()
    _set_path(unit, parent)
    audit.record(_actor(actor), "unit.created", unit, after=audit.snapshot(unit, [*UNIT_FIELDS, "parent"]))
    return unit


@transaction.atomic
def update_unit(actor, unit: Unit, **fields) -> Unit:
    """Change a unit's own fields (not its place in the tree: see :func:`move_unit`)."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    require_scope(actor, unit, "write")
    before = audit.snapshot(unit, UNIT_FIELDS)
    set_fields(unit, fields, UNIT_FIELDS)
    _validate_unit(unit)
    unit.save()
    audit.record_changes(_actor(actor), "unit.updated", unit, before, UNIT_FIELDS)
    return unit


@transaction.atomic
def move_unit(actor, unit: Unit, new_parent: Unit) -> Unit:
    """Put ``unit`` (and its whole subtree) under ``new_parent``; refuses cycles."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    new_parent = Unit.objects.get(pk=new_parent.pk)
    require_scope(actor, unit, "write")
    require_scope(actor, new_parent, "write")
    if new_parent.path.startswith(unit.path):
        raise DomainError(
            _("%(unit)s cannot be placed under %(parent)s: that would make a cycle in the tree.")
            % {"unit": unit.name, "parent": new_parent.name},
            "cycle",
        )
    if unit.parent_id == new_parent.pk:
        return unit
    old_path, old_parent = unit.path, unit.parent
    move_subtree(unit, new_parent)
    audit.record(
        _actor(actor), "unit.moved", unit,
        before={"parent": old_parent.pk if old_parent else None, "path": old_path},
        after={"parent": new_parent.pk, "path": unit.path},
    )
    return unit


def move_subtree(unit: Unit, new_parent: Unit):
    """Rewrite the paths of ``unit``'s subtree to lie under ``new_parent``; no checks, no audit.

    Callers check scope and cycles first (:func:`move_unit`, imports) and lock what they change.
    """
    old_path = unit.path
    new_path = new_parent.path + path_segment(unit.pk)
    shift = (len(new_path) - len(old_path)) // PATH_STEP
    low, high = unit.subtree_bounds()
    # One UPDATE rewrites the prefix of every path in the subtree.
    Unit.objects.filter(path__gte=low, path__lt=high).update(
        path=Concat(_literal(new_path), Substr("path", len(old_path) + 1, Length("path"))),
        depth=F("depth") + shift,
    )
    Unit.objects.filter(pk=unit.pk).update(parent=new_parent)
    unit.refresh_from_db()


def _literal(text: str):
    from django.db.models import CharField, Value

    return Value(text, output_field=CharField())


# --- people -----------------------------------------------------------------------------------
@transaction.atomic
def create_person(actor, *, unit: Unit, **fields) -> Person:
    require_scope(actor, unit, "people")
    person = Person(unit=unit, **fields)
    _validate_person(person)
    person.save()
    audit.record(_actor(actor), "person.created", person, after=audit.snapshot(person, PERSON_FIELDS))
    return person


@transaction.atomic
def update_person(actor, person: Person, **fields) -> Person:
    person = Person.objects.select_for_update().select_related("unit").get(pk=person.pk)
    require_scope(actor, person.unit, "people")
    before = audit.snapshot(person, PERSON_FIELDS)
    if "unit" in fields:
        require_scope(actor, fields["unit"], "people")
    set_fields(person, fields, [*PERSON_FIELDS, "unit"])
    _validate_person(person)
    person.save()
    audit.record_changes(_actor(actor), "person.updated", person, before, PERSON_FIELDS)
    return person


# --- accounts and roles -----------------------------------------------------------------------
SCOPED_ROLES = {Role.UNIT_ORGANISER, Role.PRINCIPAL, Role.MODERATOR, Role.POINT_OPERATOR, Role.PARTICIPANT}


@transaction.atomic
def grant_role(actor, user, role: str, unit: Unit | None = None) -> RoleAssignment:
    """Give ``user`` a role; scoped roles need a unit inside the actor's own write scope.

    Only national organisers grant unscoped roles (national organiser, director, analyst).
    """
    if role not in Role.values:
        raise DomainError(_("Unknown role: %(r)s.") % {"r": role}, "bad_role")
    if role in SCOPED_ROLES and unit is None:
        raise DomainError(_("This role needs a unit."), "unit_required")
    if unit is None:
        if actor is not SYSTEM and not scope_for(actor).writes_everything:
            raise DomainError(_("Only national organisers can grant this role."), "out_of_scope")
    else:
        require_scope(actor, unit, "write")
    assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role, unit=unit)
    if created:
        audit.record(
            _actor(actor), "role.granted", assignment, unit_path=unit.path if unit else "",
            after={"user": user.username, "role": role, "unit": unit.code if unit else None},
        )
    forget_scope(user)
    if created:
        transaction.on_commit(lambda: role_changed.send(sender=RoleAssignment, user=user, role=role, unit=unit,
                                                        change="granted"))
    return assignment


@transaction.atomic
def revoke_role(actor, assignment: RoleAssignment):
    if assignment.unit_id:
        require_scope(actor, assignment.unit, "write")
    elif actor is not SYSTEM and not scope_for(actor).writes_everything:
        raise DomainError(_("Only national organisers can revoke this role."), "out_of_scope")
    audit.record(
        _actor(actor), "role.revoked", assignment, unit_path=assignment.unit.path if assignment.unit_id else "",
        before={"user": assignment.user.username, "role": assignment.role},
    )
    user, role, unit = assignment.user, assignment.role, assignment.unit
    assignment.delete()
    forget_scope(user)
    transaction.on_commit(lambda: role_changed.send(sender=RoleAssignment, user=user, role=role, unit=unit,
                                                    change="revoked"))


def create_account(actor, username: str, password: str, *, role: str, unit: Unit | None = None,
                   full_name: str = "", email: str = ""):
    """Create a login and grant it one role, in one transaction."""
    User = get_user_model()
    username = clean_code(username, _("Username"))
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise DomainError(_("The username %(u)s is taken.") % {"u": username}, "duplicate_username")
        first, _sep, last = nfc(full_name).rpartition(" ")
        user = User.objects.create_user(username=username, password=password, email=email,
                                        first_name=first, last_name=last)
        grant_role(actor, user, role, unit)
        audit.record(_actor(actor), "account.created", user, unit_path=unit.path if unit else "",
                     after={"username": username, "role": role})
    return user


def _actor(actor):
    return None if actor is SYSTEM else actor


