"""Confirming a convocation ("đã nhận") and the roll-up of confirmations down the tree.

The e-mailed link carries a signed, expiring token naming one recipient (``CONVOCATION_LINK_DAYS``);
confirming is idempotent (a second click changes nothing and says when it was first confirmed)
and audited. The roll-up counts, under each child unit of the viewer's unit, the recipients in its
subtree (of every convocation of the conference, whoever issued it) and those that confirmed, and
lists who has not.
"""

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events.models import Conference
from diemcau.orgs.models import PATH_STEP, Unit, path_upper_bound
from diemcau.orgs.scoping import SYSTEM, scope_for

from .access import can_confirm
from .models import Confirmation, Recipient

SALT = "diemcau.convocations.confirm"


def token_for(recipient: Recipient) -> str:
    """The signed token of a recipient's confirmation link."""
    return signing.TimestampSigner(salt=SALT).sign(f"{recipient.pk}.{recipient.convocation_id}")


def recipient_for_token(token: str) -> Recipient:
    """The recipient a link's token names; :class:`DomainError` when it is forged or expired."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign(token, max_age=settings.CONVOCATION_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise DomainError(_("This confirmation link has expired; ask the issuing unit for a new one."),
                          "link_expired") from None
    except signing.BadSignature:
        raise DomainError(_("This confirmation link is not valid."), "bad_link") from None
    rid, cid = (int(x) for x in value.split("."))
    recipient = (Recipient.objects.filter(pk=rid, convocation_id=cid)
                 .select_related("unit", "convocation__issuer", "convocation__conference").first())
    if recipient is None:
        raise DomainError(_("This confirmation link is not valid."), "bad_link")
    return recipient


def confirm(actor, recipient: Recipient, *, via: str) -> tuple[Confirmation, bool]:
    """Record "đã nhận" for ``recipient``; returns the confirmation and whether it is new.

    ``via`` is "link" (the token was checked by the caller) or "page" (``actor`` must be allowed).
    """
    if via == Confirmation.Via.PAGE and not can_confirm(actor, recipient):
        raise ScopeError(_("You cannot confirm for this unit."), "confirm_out_of_scope")
    existing = Confirmation.objects.filter(recipient=recipient).first()
    if existing:
        return existing, False
    user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            confirmation = Confirmation.objects.create(recipient=recipient, confirmed_at=timezone.now(),
                                                       confirmed_by=user, via=via)
            audit.record(actor if actor is not SYSTEM else None, "convocation.confirmed", recipient,
                         unit_path=recipient.unit.path,
                         after={"convocation": recipient.convocation_id, "unit": recipient.unit.code, "via": via})
    except IntegrityError:  # a second click raced the first: the first one counts
        return Confirmation.objects.get(recipient=recipient), False
    return confirmation, True


def rollup(user, conference: Conference, unit: Unit) -> dict:
    """Confirmations under ``unit``: its own, then per child unit (recipients, confirmed), and who has not.

    Counts every recipient of the conference's convocations in each child's subtree, so the
    ministry sees a department's districts and schools too once the department has forwarded.
    """
    if user is not SYSTEM and not scope_for(user).can_see(unit):
        raise ScopeError()
    lo, hi = unit.path, path_upper_bound(unit.path)
    rows = Recipient.objects.filter(convocation__conference=conference, unit__path__gte=lo, unit__path__lt=hi)
    end = len(unit.path) + PATH_STEP
    counts = (rows.exclude(unit=unit).annotate(head=Substr("unit__path", 1, end)).values("head")
              .annotate(total=Count("id"), confirmed=Count("id", filter=Q(confirmation__isnull=False))))
    heads = {c["head"]: c for c in counts}
    units = {u.path: u for u in Unit.objects.filter(path__in=list(heads))}
    children = sorted(({"unit": units[h], "total": c["total"], "confirmed": c["confirmed"],
                        "missing": c["total"] - c["confirmed"]} for h, c in heads.items() if h in units),
                      key=lambda r: r["unit"].path)
    waiting = list(rows.filter(confirmation__isnull=True).exclude(unit=unit)
                   .select_related("unit", "convocation__issuer").order_by("unit__path")[:200])
    own = rows.filter(unit=unit).select_related("convocation__issuer").first()
    total = sum(r["total"] for r in children)
    confirmed = sum(r["confirmed"] for r in children)
    return {"unit": unit, "own": own, "children": children, "total": total, "confirmed": confirmed,
            "missing": total - confirmed, "waiting": waiting}
