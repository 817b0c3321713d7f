"""``{% icon "map-pin" %}``: a vendored SVG icon (lucide-static, ISC; static/diemcau/vendor/lucide/)
inlined in the page, drawn in the text's colour, hidden from screen readers (the words beside it
say what it means). Emoji are not icons: with the fonts a hall's PC has they show as empty boxes."""

import functools
import re
from pathlib import Path

from django import template
from django.utils.safestring import mark_safe

register = template.Library()
ICONS = Path(__file__).resolve().parents[2] / "static" / "diemcau" / "vendor" / "lucide"
_NAME = re.compile(r"^[a-z0-9-]+$")


@functools.lru_cache(maxsize=64)
def _svg(name: str) -> str:
    if not _NAME.match(name):
        raise template.TemplateSyntaxError(f"bad icon name {name!r}")
    text = (ICONS / f"{name}.svg").read_text()
    svg = text[text.index("<svg"):]
    svg = re.sub(r'\s*class="[^"]*"', "", svg, count=1)
    svg = re.sub(r'\s*(width|height)="24"', "", svg)
    svg = " ".join(svg.split())
    return svg.replace("<svg", '<svg class="icon" aria-hidden="true" focusable="false"', 1)


@register.simple_tag
def icon(name: str) -> str:
    # Safe: the files are vendored icons (paths and circles), the name is checked against [a-z0-9-].
    return mark_safe(_svg(name))  # noqa: S308
