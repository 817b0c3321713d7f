"""Account pages: change one's own password; an organiser's reset of someone else's. Thin: the
rules are in :mod:`diemcau.orgs.accounts`."""

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from diemcau.core.middleware import MUST_CHANGE_PASSWORD
from diemcau.orgs import accounts, lockout
from diemcau.orgs.scoping import scope_for


class PasswordChangeView(auth_views.PasswordChangeView):
    """"Đổi mật khẩu": Django's form (the configured validators), our service (audit, reset closed)."""

    template_name = "site/password_change.html"
    success_url = reverse_lazy("home")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["must_change"] = bool(self.request.session.get(MUST_CHANGE_PASSWORD))
        return context

    def form_valid(self, form):
        user = self.request.user
        accounts.change_own_password(user, form.cleaned_data["new_password1"], ip=lockout.client_ip(self.request))
        update_session_auth_hash(self.request, user)  # this browser stays signed in
        self.request.session.pop(MUST_CHANGE_PASSWORD, None)
        messages.success(self.request, _("Your password has been changed."))
        return redirect(self.get_success_url())


def _organiser(request):
    if not scope_for(request.user).write_paths:
        raise PermissionDenied


@login_required
def reset_list(request):
    """The accounts of the organiser's subtree whose password the organiser may reset."""
    _organiser(request)
    q = request.GET.get("q", "").strip()
    rows = [u for u in accounts.resettable_accounts(request.user, q)[:200]
            if accounts.may_reset_password(request.user, u)][:50]
    return render(request, "site/password_reset_list.html", {"rows": rows, "q": q})


@login_required
@require_POST
@sensitive_variables("temporary")
def reset(request, user_id):
    """Reset one account's password; the page shows the temporary password this once."""
    _organiser(request)
    target = get_object_or_404(get_user_model(), pk=user_id, is_active=True)
    if not accounts.may_reset_password(request.user, target):
        raise Http404  # no hint that the account exists
    temporary = accounts.reset_password(request.user, target, ip=lockout.client_ip(request))
    response = render(request, "site/password_reset_done.html", {"target": target, "temporary_password": temporary})
    add_never_cache_headers(response)  # Cache-Control: no-store: not kept by the browser or a proxy
    return response
