# English keeps Vietnam's day-first dates (dd/mm/yyyy); only the number separators differ.
from diemcau.formats.vi.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
