"""A per-conference model kept in process, rebuilt when its data's stamp changes.

The similarity index (:mod:`.similar`) and the topic suggester (:mod:`.topic_list`) are costly to
build and cheap to check: each is kept per conference with a stamp of what it was built from
(counts, last change), and rebuilt only when a new stamp differs.

A model that takes seconds to fit (the topic suggester with thousands of labels) is refitted in a
thread of its own with :meth:`StampedCache.get_refreshing`: the request that notices the change
gets the previous model at once instead of paying for the fit.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
L = TypeVar("L")


class StampedCache(Generic[T]):
    """Per-conference values, each kept with the stamp of the data it was built from."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[int, tuple[Hashable, T]] = {}
        self._refits: dict[int, threading.Thread | None] = {}

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

    def get_refreshing(self, conference_id: int, stamp: Hashable, load: Callable[[], L], fit: Callable[[L], T]) -> T:
        """The value for ``stamp``, or while it is refitted in a thread, the previous one.

        ``load()`` reads what the value is built from (the database, in the caller's thread);
        ``fit(loaded)`` builds it (CPU only, so it may run in another thread). The first value of a
        conference is built in the caller's thread: there is nothing older to give.
        """
        with self._lock:
            cached = self._values.get(conference_id)
            if cached and (cached[0] == stamp or conference_id in self._refits):
                return cached[1]
            if cached:
                self._refits[conference_id] = None  # claimed: started once loaded
        if not cached:
            value = fit(load())
            with self._lock:
                self._values[conference_id] = (stamp, value)
            return value
        try:
            loaded = load()
        except BaseException:
            with self._lock:
                self._refits.pop(conference_id, None)
            raise
        thread = threading.Thread(target=self._refit, args=(conference_id, stamp, loaded, fit),
                                  name=f"refit-{conference_id}", daemon=True)
        with self._lock:
            self._refits[conference_id] = thread
        thread.start()
        return cached[1]

    def _refit(self, conference_id: int, stamp: Hashable, loaded, fit: Callable) -> None:
        try:
            value = fit(loaded)
            with self._lock:
                self._values[conference_id] = (stamp, value)
        finally:
            with self._lock:
                self._refits.pop(conference_id, None)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait for the refits under way (tests, and a process that wants its models current)."""
        with self._lock:
            threads = [t for t in self._refits.values() if t is not None]
        for thread in threads:
            thread.join(timeout)
