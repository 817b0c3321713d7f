"""Bridge points over JSON (mounted at ``/api/points/``): what a device asks about its own token.

- ``POST /devices/rotate`` with ``Authorization: Bearer dc1_…`` (the device's own token, no session) →
  ``{token, prefix, expires_at, old_expires_at}``: a new token for the device; the one sent works
  ``DEVICE_TOKEN_OVERLAP_MINUTES`` more, then is refused. Refused: ``already_rotated`` (400); an
  unknown, revoked or expired token 401; an issuer who no longer manages the point 404 ``not_found``.
"""

from ninja import Router, Schema

from diemcau.core.apiauth import DeviceBearer

from . import devices

router = Router(tags=["points"])


class RotatedOut(Schema):
    token: str
    prefix: str
    expires_at: str
    old_expires_at: str


class ErrorOut(Schema):
    code: str
    message: str


@router.post("/devices/rotate", auth=DeviceBearer(), response={200: RotatedOut, 400: ErrorOut, 404: ErrorOut},
             summary="A device replaces its own token before it expires")
def rotate_own_token(request):
    new, secret = devices.rotate(request.user, request.device, by_device=True)
    request.device.refresh_from_db(fields=["expires_at"])
    return {"token": secret, "prefix": new.prefix, "expires_at": new.expires_at.isoformat(),
            "old_expires_at": request.device.expires_at.isoformat()}
