"""Background jobs of the organisation tree: previewing and applying large imports."""

from diemcau.core import tasks

from . import importing
from .models import ImportBatch

import_preview, import_apply = tasks.import_handlers(
    "orgs", ImportBatch, importing.preview_batch, importing.apply_batch,
    result=lambda batch: {"counts": batch.result.get("counts")})
