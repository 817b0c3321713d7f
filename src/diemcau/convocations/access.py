"""Who issues, forwards, sees and confirms a convocation: one rule each, for pages, jobs and the API.

- **Issues** (and sends, reminds): an organiser whose write scope covers the issuing unit, for a
  conference they see (``events.access``).
- **Forwards** a convocation down: whoever may issue for a unit the convocation is addressed to.
- **Sees**: a convocation issued in the user's subtrees, or addressed to a unit in them.
- **Confirms** on the page: whoever may change the addressed unit; anyone else confirms through the
  e-mailed link (its signed token is the credential, :mod:`.confirming`).
"""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from diemcau.core.errors import ScopeError
from diemcau.events.access import sees_conference
from diemcau.events.models import Conference
from diemcau.orgs.models import Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from .models import Convocation, Recipient


def can_issue(user, conference: Conference, unit: Unit) -> bool:
    """True when ``user`` may issue (and send) ``unit``'s convocation for ``conference``."""
    if user is SYSTEM:
        return True
    return sees_conference(user, conference) and scope_for(user).can_change(unit)


def require_issue(user, conference: Conference, unit: Unit) -> None:
    if not can_issue(user, conference, unit):
        raise ScopeError(_("You cannot issue convocations for this unit."), "convocation_out_of_scope")


def visible_convocations(user, conference: Conference) -> QuerySet:
    """The conference's convocations issued in the user's subtrees or addressed to a unit in them."""
    qs = Convocation.objects.filter(conference=conference).select_related("issuer", "parent__issuer")
    if user is SYSTEM:
        return qs
    scope = scope_for(user)
    if scope.is_empty or not sees_conference(user, conference):
        return qs.none()
    addressed = Recipient.objects.filter(scope.q("unit__path", "read")).values("convocation_id")
    return qs.filter(scope.q("issuer__path", "read") | Q(pk__in=addressed))


def can_confirm(user, recipient: Recipient) -> bool:
    """True when ``user`` may say "đã nhận" for the addressed unit on the signed-in page."""
    return user is SYSTEM or scope_for(user).can_change(recipient.unit)
