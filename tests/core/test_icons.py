"""``{% icon %}`` inlines a vendored SVG icon hidden from screen readers, and refuses names that are not icons."""

import pytest
from django.template import Context, Template, TemplateSyntaxError


def test_an_icon_is_inline_svg_hidden_from_screen_readers():
    html = Template('{% load icons %}<a>{% icon "map-pin" %} Chỉ đường</a>').render(Context())
    assert html.startswith('<a><svg class="icon" aria-hidden="true" focusable="false"') and "<path" in html
    assert "<!--" not in html and 'width="24"' not in html  # the licence comment stays in the file; CSS sizes it


@pytest.mark.parametrize("name", ["../../settings", "Map-Pin"])
def test_a_name_that_is_not_an_icon_is_refused(name):
    with pytest.raises(TemplateSyntaxError):
        Template('{% load icons %}{% icon name %}').render(Context({"name": name}))
