"""Sign-in forms (the site's and the admin's) that go through the back-off of :mod:`.lockout`."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy, ngettext

from . import lockout


class BackoffMixin:
    """Refuse to check a password while the sign-in's account or address must wait."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if username:
            wait = lockout.retry_after(username, lockout.client_ip(self.request))
            if wait:
                raise ValidationError(
                    ngettext("Too many failed sign-ins. Try again in %(seconds)d second.",
                             "Too many failed sign-ins. Try again in %(seconds)d seconds.", wait)
                    % {"seconds": wait},
                    code="locked_out",
                )
        return super().clean()


class SignInForm(BackoffMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": gettext_lazy("The username or password is wrong."),
    }


class AdminSignInForm(BackoffMixin, AdminAuthenticationForm):
    """The admin's sign-in (staff accounts only), with the same back-off as the site's."""
