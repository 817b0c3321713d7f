"""Where the programme's HLS files are: the runtime's packager writes them (``run_live --hls``), the
signed links of :mod:`.services` lead to them, the watch page offers them when they exist."""

from pathlib import Path

from django.conf import settings


def hls_folder() -> Path:
    """The folder of the programme's playlist and segments."""
    return Path(settings.VAR_DIR) / "hls" / "programme"
