"""A per-conference model kept in process, rebuilt when its data's stamp changes.

The similarity index (:mod:`.similar`) and the topic suggester (:mod:`.topic_list`) are costly to
build and cheap to check: each is kept per conference with a stamp of what it was built from
(counts, last change), and rebuilt only when a new stamp differs.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class StampedCache(Generic[T]):
    """Per-conference values, each kept with the stamp of the data it was built from."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[int, tuple[Hashable, T]] = {}

    def get(self, conference_id: int, stamp: Hashable, build: Callable[[], T]) -> T:
        """The value built for ``stamp``; ``build()`` makes it again (outside the lock) when the stamp moved."""
        with self._lock:
            cached = self._values.get(conference_id)
            if cached and cached[0] == stamp:
                return cached[1]
        value = build()
        with self._lock:
            self._values[conference_id] = (stamp, value)
        return value
