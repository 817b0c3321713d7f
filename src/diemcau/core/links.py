"""Absolute links (QR codes, e-mails, printed posters): the public address, not the one a request came by."""

from django.conf import settings


def absolute_url(request, path: str) -> str:
    """``path`` as a full URL: on ``DIEMCAU_PUBLIC_URL`` when set, else on the request's own host.

    Behind a proxy the request may have come to an app host's private address; people scanning a
    printed code must reach the public name.
    """
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL + path
    return request.build_absolute_uri(path)
