"""The keyframe request on a switch: the runtime finds a publisher's own VideoRoom handle through the
Admin API and asks it for a keyframe (Janus 1.1.2 sends none when a forwarder is added)."""

import asyncio
import time

from diemcau.live.janus_client import VIDEOROOM, JanusClient
from diemcau.live.janus_plugins import VideoRoom
from diemcau.live.keyframes import Keyframes

ROOM = 4242


async def _scenario(node) -> dict:
    async with JanusClient.for_node(node) as client, JanusClient.for_node(node) as publisher_side:
        rooms = VideoRoom(client, node.admin_key)
        await rooms.create(ROOM, secret="s", publishers=4, videocodec="h264")
        # Two participants in the room and a Streaming-like bystander handle in another session.
        sessions, handles = [], {}
        for pub_id in (11, 12):
            session = await publisher_side.create_session()
            handle = await session.attach(VIDEOROOM)
            await handle.message({"request": "join", "ptype": "publisher", "room": ROOM, "id": pub_id})
            sessions.append(session)
            handles[pub_id] = (session.id, handle.id)
        keyframes = Keyframes(client, node.admin_url, node.admin_secret)
        await keyframes.locate(ROOM, {12})
        located = dict(keyframes.handles)
        asked = await keyframes.ask(ROOM, 11)  # not located beforehand: found on the way
        noted = set(keyframes.asked_at)  # the periodic clock skips a source asked less than a second ago
        configured = await sessions[0].next_event(lambda e: e.get("janus") == "event", 5.0)
        await sessions[0].destroy()  # publisher 11 leaves: its handle is gone, and so is the request
        tried = time.monotonic()
        gone = await keyframes.ask(ROOM, 11)
        # a request that found no handle still counts as asked: the clock waits a second before looking again
        gone_noted = keyframes.asked_at[11] >= tried
        keyframes.forget({12})
        forgotten = set(keyframes.asked_at)
        await sessions[1].destroy()
        await rooms.close()
        return {"located": located, "handles": handles, "asked": asked, "gone": gone, "noted": noted,
                "gone_noted": gone_noted, "forgotten": forgotten,
                "configured": configured["plugindata"]["data"]}


def test_a_switch_asks_the_new_source_for_a_keyframe_through_its_own_handle(janus_node):
    result = asyncio.run(_scenario(janus_node))
    assert result["located"] == {12: result["handles"][12]}
    assert result["asked"] is True
    assert result["configured"].get("configured") == "ok", result["configured"]
    assert result["gone"] is False and result["gone_noted"] is True
    assert result["noted"] == {11} and result["forgotten"] == set(), result
