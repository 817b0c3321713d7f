"""PDF of an official document (WeasyPrint), from the same template as its print page.

Nothing is fetched at run time: :class:`StaticOnlyFetcher` serves the project's own static files
(the document's stylesheet and the Tinos fonts shipped under ``reports/static/reports/fonts/``)
and refuses every other URL, so text in a document (a school's name, a quoted opinion) can never
make the server open a connection or read a file.
"""

import mimetypes
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from diemcau.core.vntext import fold

# Relative URLs in the document resolve against this origin; only its static path is served.
BASE_URL = "https://documents.diemcau.invalid/"
PDF_MIME = "application/pdf"


class StaticOnlyFetcher(URLFetcher):
    """A URL fetcher that answers from the static files and refuses anything else."""

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        base = urlsplit(BASE_URL)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or \
                not parts.path.startswith(settings.STATIC_URL):
            raise ValueError(f"refused to fetch {url[:200]!r}: a document only uses the static files")
        relative = unquote(parts.path[len(settings.STATIC_URL):])
        if ".." in relative.split("/"):
            raise ValueError(f"refused to fetch {url[:200]!r}")
        path = finders.find(relative)
        if not path:
            raise ValueError(f"no static file {relative!r}")
        with open(path, "rb") as fh:
            body = fh.read()
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": mime})


def render_pdf(template: str, context: dict) -> bytes:
    """The document's PDF: ``template`` rendered in Vietnamese inside the PDF shell."""
    with translation.override("vi"):
        html = render_to_string("reports/pdf.html", {**context, "document_template": template})
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf()


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    """The PDF to open in the browser (inline), with a Vietnamese file name and an ASCII fallback."""
    from urllib.parse import quote

    response = HttpResponse(content, content_type=PDF_MIME)
    ascii_name = fold(filename).replace(" ", "_").encode("ascii", "ignore").decode() or "van-ban.pdf"
    response["Content-Disposition"] = f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return response
