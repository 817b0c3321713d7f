"""The text of a PDF, as a reader's copy-paste would give it (NFC: Vietnamese letters whole)."""

import io
import unicodedata

from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in reader.pages))


def pdf_fonts(content: bytes) -> set[str]:
    """The base names of the fonts a PDF embeds ("ABCDEF+Tinos-Bold")."""
    reader = PdfReader(io.BytesIO(content))
    names = set()
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont", "")))
    return names
