"""Pages every user meets: sign-in and sign-out, the home page, the audit log."""

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core import audit
from diemcau.core.excel import build_workbook, xlsx_response
from diemcau.core.models import AuditEntry
from diemcau.core.vntext import SEARCH, by_name, strip_unsafe
from diemcau.events.access import visible_conferences
from diemcau.orgs.models import Person
from diemcau.orgs.scoping import scope_for
from diemcau.orgs.services import institutions_by_level, unit_counts
from diemcau.orgs.signin import SignInForm
from diemcau.voice import answers

from . import audit_sentences
from .participant import is_participant
from .views_participant import participant_home


class LoginView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "site/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request):
    logout(request)
    response = redirect("login")
    # The browser forgets what this site kept on the device: the roll call's offline list of
    # people (IndexedDB), its service worker and cached pages.
    response["Clear-Site-Data"] = '"cache", "storage"'
    return response


@login_required
def home(request):
    if is_participant(request.user):
        return participant_home(request)
    scope = scope_for(request.user)
    roots = list(scope.roots().order_by(by_name())[:20])
    cards = []
    for unit in roots[:4]:
        counts = unit_counts(unit)
        people = [{"label": label, "count": counts["people"].get(key, 0)} for key, label in Person.Category.choices]
        cards.append({"unit": unit, "counts": counts, "people": _bars(people),
                      "levels": _bars(institutions_by_level(unit))})
    conferences = list(visible_conferences(request.user).select_related("host_unit").order_by("-date")[:5])
    return render(request, "site/home.html", {"roots": roots, "cards": cards, "conferences": conferences,
                                              **answers.answers_panel_context(request.user)})


def _bars(rows: list[dict]) -> list[dict]:
    """Add each row's share of the largest, for a bar chart drawn with CSS."""
    top = max((r["count"] for r in rows), default=0) or 1
    return [{**r, "pct": round(100 * r["count"] / top)} for r in rows]


@login_required
def audit_log(request):
    """The audit log of the user's subtree (everything, for national organisers)."""
    scope = scope_for(request.user)
    if not scope.write_paths and not scope.has_role("analyst"):
        raise PermissionDenied
    qs = AuditEntry.objects.select_related("actor")
    if not scope.reads_everything:
        qs = scope.filter(qs, "unit_path", "write")
    # A NUL would reach PostgreSQL (which refuses it with an error, a 500): drop what no action holds.
    action = strip_unsafe(request.GET.get("action", ""), kind=SEARCH).strip()
    if action:
        qs = qs.filter(action__startswith=action)
    if request.GET.get("format") == "xlsx":
        entries = list(qs[:50000])
        rows = ([timezone.localtime(e.at).strftime("%d/%m/%Y %H:%M:%S"), _who(e), e.action,
                 e.object_repr, str(e.before or ""), str(e.after or "")] for e in entries)
        content = build_workbook(_("Audit log"), [_("Time"), _("Who"), _("Action"), _("Object"),
                                                  _("Before"), _("After")], rows)
        # The log names the people who acted: its export is an export of personal data.
        audit.record(request.user, "personal_data.exported", after={
            "export": "audit_log", "rows": len(entries), "filters": {"action": action}, "contacts": False})
        return xlsx_response(content, "nhat-ky-thao-tac.xlsx")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.changes = _changes(entry.before, entry.after)
        entry.who = _who(entry)
    audit_sentences.describe(page.object_list, lambda entry: entry.who)
    return render(request, "site/audit_log.html", {"page": page, "action": action})


def _who(entry) -> str:
    """Who acted: the account, "Ẩn danh" for an anonymous item's own act (never its author), or the system."""
    if entry.actor:
        return entry.actor.get_full_name() or entry.actor.get_username()
    if isinstance(entry.after, dict) and entry.after.get("anonymous"):
        return _("Anonymous")
    return _("system")


def _changes(before, after) -> list[dict]:
    """The fields an entry touched, each with its value before and after, for reading."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    keys = list(dict.fromkeys([*before, *after]))
    return [{"field": k, "before": _plain(before.get(k)), "after": _plain(after.get(k))} for k in keys]


def _plain(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)
