"""The per-conference model cache: a costly refit runs in a thread while the previous model serves."""

import threading

from diemcau.voice.stamped import StampedCache


def test_a_moved_stamp_is_refitted_in_a_thread_while_the_previous_value_serves():
    cache = StampedCache()
    release = threading.Event()
    fitted_in = []

    def fit(loaded):
        fitted_in.append(threading.current_thread().name)
        if loaded == "v2":
            assert release.wait(10)
        return loaded

    assert cache.get_refreshing(7, 1, lambda: "v1", fit) == "v1"  # the first value: in the caller
    assert fitted_in == [threading.current_thread().name]
    assert cache.get_refreshing(7, 2, lambda: "v2", fit) == "v1"  # refitting: the previous serves
    assert cache.get_refreshing(7, 3, lambda: "v3", fit) == "v1"  # one refit at a time
    release.set()
    cache.settle()
    assert fitted_in[1] == "refit-7"
    assert cache.get_refreshing(7, 2, lambda: "unused", fit) == "v2"
    assert cache.get_refreshing(7, 3, lambda: "v3", fit) == "v2"  # the stamp moved on meanwhile
    cache.settle()
    assert cache.get_refreshing(7, 3, lambda: "unused", fit) == "v3"


def test_a_failed_load_leaves_the_cache_ready_for_the_next_call():
    cache = StampedCache()
    cache.get_refreshing(1, "a", lambda: "A", str)

    def broken():
        raise RuntimeError("database gone")

    try:
        cache.get_refreshing(1, "b", broken, str)
    except RuntimeError:
        pass
    assert cache.get_refreshing(1, "b", lambda: "B", str) == "A"
    cache.settle()
    assert cache.get_refreshing(1, "b", lambda: "unused", str) == "B"
