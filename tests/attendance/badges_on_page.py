"""Counting the badges on a page: each badge is one QR code drawn as an inline <svg>; the interface's
icons are inline <svg class="icon"> too and are not badges."""


def qr_codes(page: str) -> int:
    """How many QR codes (badges) a rendered page holds."""
    return page.count("<svg") - page.count('<svg class="icon"')
