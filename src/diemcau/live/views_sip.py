"""The room-system page of a bridge point: mark the point as a hall's own SIP equipment, set its
credentials, and read the settings its technician enters in the codec (``live/sip.py`` holds the rules).
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core.forms import submit
from diemcau.points.access import can_change_point
from diemcau.points.models import BridgePoint

from . import sip
from .models import RoomSystem


class RoomSystemForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("SIP username"), max_length=64,
                               help_text=gettext_lazy(
                                   "Lower-case letters, digits, dots and dashes, e.g. hanoi-polycom."))
    password = forms.CharField(label=gettext_lazy("SIP password"), required=False, max_length=128,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                               help_text=gettext_lazy("At least 12 characters; leave blank to keep the current one."))
    address = forms.CharField(label=gettext_lazy("Address of the room system"), required=False, max_length=200,
                              help_text=gettext_lazy("Its IP address or SIP URI, for the technicians."))
    enabled = forms.BooleanField(label=gettext_lazy("Calls from this room system are accepted"), required=False,
                                 initial=True)
    dial_out = forms.BooleanField(label=gettext_lazy("diemcau calls the hall"), required=False,
                                  help_text=gettext_lazy("At the start of each session (and again when the call "
                                                         "drops): at the address above, or where it registered."))
    picture_update_info = forms.BooleanField(label=gettext_lazy("keyframe requests by SIP INFO"), required=False,
                                             help_text=gettext_lazy(
                                                 "Polycom and Cisco units expect picture_fast_update."))


def gateway_settings() -> dict:
    """What a hall's technician enters in the codec (``DIEMCAU_SIP_*`` settings)."""
    host = settings.LIVE_SIP_PUBLIC_HOST or "sip.diemcau.example.vn"
    return {"host": host, "udp": settings.LIVE_SIP_PORT,
            "tls": settings.LIVE_SIP_TLS_PORT, "realm": sip.realm(),
            "media": "36000–36999"}


@login_required
def room_system(request, pk):
    point = get_object_or_404(BridgePoint.objects.select_related("hall__unit", "conference"), pk=pk)
    if not can_change_point(request.user, point):
        raise Http404
    current = RoomSystem.objects.filter(point=point).first()
    initial = {"username": current.sip_username, "address": current.address, "enabled": current.enabled,
               "dial_out": current.dial_out, "picture_update_info": current.picture_update_info} \
        if current else {"enabled": True}
    form = RoomSystemForm(request.POST or None, initial=initial)
    if submit(request, form, lambda data: sip.configure_room_system(request.user, point, **data), _("Saved.")):
        return redirect("live:room-system", pk=point.pk)
    return render(request, "live/room_system.html", {"point": point, "conference": point.conference,
                                                     "form": form, "current": current, "gw": gateway_settings(),
                                                     "css": "points/planning.css"})
