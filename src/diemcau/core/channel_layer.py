"""The Redis channel layer, with its blocking read shorter than the Redis client's read timeout.

channels_redis (4.3) receives with ``BZPOPMIN`` and a 5-second server-side wait; redis-py (8.x) gives
up reading a reply after its default socket timeout, also 5 seconds. The two race: on a loaded
machine the empty answer arrives after the client stopped waiting, so the read raises
``redis.exceptions.TimeoutError`` and the connection is dropped (the board hub logged it 25–37 times
per benchmark run, then rejoined its groups and recomputed everything watched). Worse, when a notice
arrived in that moment, Redis had popped it and the reply was never read: the notice was lost (the
hub's recomputation after the error still showed its check-in, a second or more late). A
2-second wait leaves 3 seconds of margin; an empty wait costs one round trip every 2 seconds.
"""

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer


class RedisChannelLayer(_RedisChannelLayer):
    """channels_redis' layer whose ``BZPOPMIN`` waits well under the client's read timeout."""

    brpop_timeout = 2
