"""A bridge point marked as a room system: who may, what is kept (HA1, never the password), the log,
the page an organiser uses, and the gateway's pieces that need no network (SDP, bencode, relay)."""

import hashlib

import pytest
from django.urls import reverse

from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry
from diemcau.live import sip, sip_ng, sip_relay, sip_ua
from diemcau.live.models import RoomSystem
from diemcau.orgs.models import Role


def test_an_organiser_marks_the_point_and_only_the_digest_is_kept(live_world, make_user):
    w = live_world
    hanoi_org = make_user("hanoi_org", Role.UNIT_ORGANISER, w["tree"]["hanoi"])
    system = sip.configure_room_system(hanoi_org, w["hanoi"], username="Hanoi-Polycom",
                                       password="mat-khau-12345", address="10.1.2.3")
    assert system.sip_username == "hanoi-polycom"
    assert system.ha1 == hashlib.md5(b"hanoi-polycom:diemcau:mat-khau-12345").hexdigest()  # noqa: S324
    assert "mat-khau" not in str(RoomSystem.objects.filter(pk=system.pk).values().first())
    entry = AuditEntry.objects.get(action="live.room_system_set")
    assert entry.after["password_changed"] is True and "mat-khau" not in str(entry.after)
    assert sip.credentials() == {"hanoi-polycom": system.ha1}
    sip.configure_room_system(hanoi_org, w["hanoi"], username="hanoi-polycom", enabled=False)
    assert sip.credentials() == {} and sip.hall_for_call("hanoi-polycom") is None


def test_the_rules_refuse_what_they_should(live_world, make_user):
    w = live_world
    socson_org = make_user("socson_org", Role.UNIT_ORGANISER, w["tree"]["socson"])
    with pytest.raises(ScopeError):
        sip.configure_room_system(socson_org, w["hanoi"], username="hanoi-polycom", password="mat-khau-12345")
    hanoi_org = make_user("hanoi_org", Role.UNIT_ORGANISER, w["tree"]["hanoi"])
    for kwargs, code in (({"username": "hn", "password": "mat-khau-12345"}, "sip_username_invalid"),
                         ({"username": "hanoi-polycom", "password": "short"}, "sip_password_short"),
                         ({"username": "hanoi-polycom"}, "sip_password_required")):
        with pytest.raises(DomainError) as err:
            sip.configure_room_system(hanoi_org, w["hanoi"], **kwargs)
        assert err.value.code == code
    sip.configure_room_system(hanoi_org, w["hanoi"], username="hanoi-polycom", password="mat-khau-12345")
    bavi_org = make_user("bavi_org", Role.UNIT_ORGANISER, w["tree"]["bavi"])
    with pytest.raises(DomainError) as err:
        sip.configure_room_system(bavi_org, w["bavi"], username="hanoi-polycom", password="mat-khau-12345")
    assert err.value.code == "sip_username_taken"


def test_the_page_sets_it_and_the_point_shows_it(client, live_world, make_user):
    w = live_world
    client.force_login(make_user("hanoi_org", Role.UNIT_ORGANISER, w["tree"]["hanoi"]))
    url = reverse("live:room-system", args=[w["hanoi"].pk])
    page = client.get(url)
    assert page.status_code == 200 and "sip:diemcau@" in page.content.decode()
    answer = client.post(url, {"username": "hanoi-polycom", "password": "mat-khau-12345", "address": "",
                               "enabled": "on"})
    assert answer.status_code == 302
    assert RoomSystem.objects.get(point=w["hanoi"]).enabled
    detail = client.get(reverse("points:point", args=[w["hanoi"].pk])).content.decode()
    assert "hanoi-polycom" in detail and url in detail
    client.force_login(make_user("socson_org", Role.UNIT_ORGANISER, w["tree"]["socson"]))
    assert client.get(url).status_code == 404


def test_sdp_bencode_and_relay_rewrites():
    offer = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio 30000 RTP/AVP 9 96\r\na=rtpmap:9 G722/8000\r\na=rtpmap:96 opus/48000/2\r\n"
             "m=video 30002 RTP/AVP 97 98\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=0\r\n"
             "a=rtpmap:98 H264/90000\r\na=fmtp:98 profile-level-id=42e01f;packetization-mode=1\r\n"
             "m=application 0 UDP/BFCP *\r\n")
    _, media = sip_ua.parse_sdp(offer)
    assert media[0].pt_for("opus") == 96 and media[1].pt_for("H264", "packetization-mode=1") == 98
    answer = sip_ua.answer_sdp("127.0.0.1", media, {0: (4000, 96, "opus/48000/2", ""),
                                                    1: (4002, 98, "H264/90000", media[1].fmtp[98])}, session_id=1)
    assert "m=audio 4000 RTP/AVP 96" in answer and "m=video 4002 RTP/AVP 98" in answer
    assert "m=application 0 " in answer  # what diemcau does not take is refused, in the offer's order
    assert sip_ng.bdecode(sip_ng.bencode({"a": [1, "x"], "b": {"c": b"d"}})) == {"a": [1, "x"], "b": {"c": "d"}}
    packet = bytes([0x80, 0x80 | 97]) + b"\x00\x01" + b"\x00" * 4 + b"\x12\x34\x56\x78" + b"payload"
    out = sip_relay.rewrite(packet, 107, 1010)
    assert out[1] == 0x80 | 107 and out[8:12] == (1010).to_bytes(4, "big") and out[12:] == b"payload"
    assert sip_relay.keyframe_requests(sip_relay.pli(1, 1010)) == [1010]
    msg = sip_ua.SipMessage.parse(b"INVITE sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP a\r\nf: <sip:h@g>;tag=1\r\n"
                                  b"t: <sip:x@y>\r\ni: c1\r\nCSeq: 1 INVITE\r\n\r\n")
    reply = sip_ua.response(msg, 200, "OK", to_tag="t9").encode().decode()
    assert "To: <sip:x@y>;tag=t9" in reply and "Call-ID: c1" in reply and "Content-Length: 0" in reply


def test_the_demo_switches_its_hanoi_point_to_a_room_system_and_back(live_world):
    """``manage.py demo_room_system``'s rules (the call itself is tests/live/test_sip.py's)."""
    from diemcau.demo import room_system

    on = room_system.switch(live_world["hanoi"])
    system = RoomSystem.objects.get(point=live_world["hanoi"])
    assert system.enabled and system.address == "10.233.0.50" and len(on.password) >= 12
    assert sip.credentials() == {room_system.USERNAME: sip.ha1(room_system.USERNAME, on.password, sip.realm())}
    again = room_system.switch(live_world["hanoi"])  # a fresh password each time
    assert again.password != on.password and sip.hall_for_call(room_system.USERNAME).point_id == live_world["hanoi"].pk
    room_system.switch(live_world["hanoi"], on=False)
    assert sip.credentials() == {} and sip.hall_for_call(room_system.USERNAME) is None
    assert AuditEntry.objects.filter(action="live.room_system_set").count() == 3


def test_a_room_systems_picture_becomes_its_thumbnail_on_the_wall(tmp_path):
    """The relay's copy of a hall's H.264 (here the synthetic feed's, as RTP) → ffmpeg's keyframes →
    a 192×108 JPEG kept as the point's thumbnail (``sip_thumbs.py``)."""
    import asyncio
    import socket

    from diemcau.live import sip_thumbs
    from diemcau.live.media import SyntheticFeed

    def free_even_port() -> int:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port % 2 == 0:
                return port

    kept, asked = [], []

    async def go():
        thumb = sip_thumbs.HallThumbnail(7, (free_even_port(), free_even_port()), tmp_path,
                                         ask_keyframe=lambda: asked.append(1),
                                         keep=lambda point, data: kept.append((point, data)), pt=96)
        host, port, _ = await thumb.start()
        feed = SyntheticFeed([(host, port, port + 2)], size="640x360", log_path=tmp_path / "feed.log")
        feed.start()
        try:
            for _ in range(300):
                if kept:
                    break
                await asyncio.sleep(0.1)
        finally:
            feed.stop()
            await thumb.close()

    asyncio.run(go())
    assert kept and asked, (tmp_path / "feed.log").read_text()[-500:]
    point, data = kept[0]
    assert point == 7 and data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9")
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(data)).size == (192, 108)
