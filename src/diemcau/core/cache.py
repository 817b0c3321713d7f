"""The cache on Redis, degraded rather than broken while Redis is away.

Sessions (``cached_db``), the voice refresh window and the kiosks' reported modes read and write the
cache on ordinary requests; with Django's plain Redis backend, a Redis restart turned every signed-in
request into a 500 although PostgreSQL holds the sessions. Here a Redis error is a cache miss (``get``
answers the default, ``add`` answers ``False``) and a lost write: the database stays the record, as the
cached_db engine means. A key whose ``set`` or ``delete`` failed may hold a stale value (a session
signed out while Redis was unreachable but not restarted): it is deleted before anything else once
Redis answers again, so nothing stale outlives the outage.
"""

import logging
import threading

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class TolerantRedisCache(RedisCache):
    """Django's Redis cache whose operations fail soft (see the module docstring)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._stale: set[str] = set()  # full keys to delete once Redis answers again
        self._stale_lock = threading.Lock()

    def _failed(self, op: str, keys, exc: Exception) -> None:
        log.warning("cache %s: Redis unavailable (%s); the database is read instead", op, exc)
        with self._stale_lock:
            self._stale.update(keys)

    def _forget_stale(self) -> None:
        if not self._stale:
            return
        with self._stale_lock:
            keys, self._stale = list(self._stale), set()
        try:
            self._cache.delete_many(keys)
        except RedisError:
            with self._stale_lock:
                self._stale.update(keys)
            raise

    def _soft(self, op: str, call, fallback, stale=()):
        try:
            self._forget_stale()
            return call()
        except RedisError as exc:
            self._failed(op, stale, exc)
            return fallback

    def get(self, key, default=None, version=None):
        return self._soft("get", lambda: super(TolerantRedisCache, self).get(key, default, version), default)

    def get_many(self, keys, version=None):
        return self._soft("get_many", lambda: super(TolerantRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._soft("has_key", lambda: super(TolerantRedisCache, self).has_key(key, version), False)

    def add(self, key, value, timeout=None, version=None):
        # add is a claim (the first of a window): when Redis is away, nobody claims
        return self._soft("add", lambda: super(TolerantRedisCache, self).add(key, value, timeout, version), False,
                          [self.make_and_validate_key(key, version)])

    def set(self, key, value, timeout=None, version=None):
        self._soft("set", lambda: super(TolerantRedisCache, self).set(key, value, timeout, version), None,
                   [self.make_and_validate_key(key, version)])

    def set_many(self, data, timeout=None, version=None):
        keys = [self.make_and_validate_key(k, version) for k in data]
        return self._soft("set_many", lambda: super(TolerantRedisCache, self).set_many(data, timeout, version),
                          list(data), keys)

    def touch(self, key, timeout=None, version=None):
        return self._soft("touch", lambda: super(TolerantRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key, version=None):
        return self._soft("delete", lambda: super(TolerantRedisCache, self).delete(key, version), False,
                          [self.make_and_validate_key(key, version)])

    def delete_many(self, keys, version=None):
        full = [self.make_and_validate_key(k, version) for k in keys]
        self._soft("delete_many", lambda: super(TolerantRedisCache, self).delete_many(keys, version), None, full)
