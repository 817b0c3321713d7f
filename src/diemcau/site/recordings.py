"""Watching a session afterwards: the recording (live's) with its chapters, the questions answered on
air among them (voice's). It joins live and voice, so it lives above both."""

from diemcau.live import recording
from diemcau.live.models import Recording
from diemcau.voice import answers


def recording_chapters(rec: Recording) -> list[dict]:
    """Agenda items, floor grants and the questions answered on air, in seconds from the start."""
    end = rec.ended_at or rec.started_at
    return recording.chapters(rec, answers.on_air_marks(rec.session.conference, rec.started_at, end))
