"""The cache on Redis while Redis is away: misses and lost writes, never errors, and nothing stale after."""

import os
import signal

from diemcau.core.cache import TolerantRedisCache
from tests.servers import redis_socket_server


def test_redis_away_is_a_miss_and_what_changed_meanwhile_is_not_served_stale(tmp_path):
    with redis_socket_server(tmp_path) as sock:
        cache = TolerantRedisCache(f"unix://{sock}", {"KEY_PREFIX": "t", "OPTIONS": {
            "socket_connect_timeout": 0.5, "socket_timeout": 0.5}})
        cache.set("session", "signed in")
        cache.set("mode", "main")
        assert cache.get("session") == "signed in"
        pid = cache._cache.get_client().info("server")["process_id"]
        os.kill(pid, signal.SIGSTOP)  # unreachable, its data kept (a partition, not a restart)
        try:
            assert cache.get("session", "miss") == "miss"
            assert cache.get_many(["session", "mode"]) == {}
            assert cache.add("window", 1) is False  # nobody claims a window while Redis is away
            cache.delete("session")  # signed out meanwhile: the database row is gone
            cache.set("mode", "audio")  # a write that did not reach Redis
        finally:
            os.kill(pid, signal.SIGCONT)
        assert cache.get("session") is None  # not revived when Redis answers again
        assert cache.get("mode") is None  # the old value is not served either: the record is read again
        assert cache.add("window", 1) is True
