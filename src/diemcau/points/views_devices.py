"""A point's device tokens on its page: issue one (the secret shown once, in the reply), rotate one, revoke one.

Thin: ``points.devices`` decides who may (those who manage the point) and audits.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diemcau.core.errors import DomainError

from . import devices, views
from .models import DeviceToken


@login_required
@require_POST
def device_issue(request, pk):
    point = views._changeable_point(request, pk)
    try:
        new_device = devices.issue(request.user, point, request.POST.get("name", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("points:point", pk)
    # Rendered in the reply, not after a redirect: the secret is never stored, not even in the session.
    return views.point_detail(request, pk, new_device=new_device)


@login_required
@require_POST
def device_revoke(request, pk, token_id):
    point = views._changeable_point(request, pk)
    token = get_object_or_404(DeviceToken, pk=token_id, point=point)
    devices.revoke(request.user, token)
    messages.success(request, _("The device token %(name)s no longer works.") % {"name": token.name})
    return redirect("points:point", pk)


@login_required
@require_POST
def device_rotate(request, pk, token_id):
    """A new token for the device (shown once, like an issued one); the old one works a few minutes more."""
    point = views._changeable_point(request, pk)
    token = get_object_or_404(DeviceToken, pk=token_id, point=point)
    try:
        new_device = devices.rotate(request.user, token)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("points:point", pk)
    return views.point_detail(request, pk, new_device=new_device)
