"""Points' thumbnails: a kiosk posts a JPEG of its own camera; the director's wall reads it back.

The API takes only the kiosk's own point with its live token, only a JPEG, at most 64 KB and not
faster than every 5 s; a refusal stores nothing. The picture is served to those whose board shows
the point (a director, an organiser above the point); others get 404."""

import datetime
import os
import secrets

import pytest
from django.utils import timezone

from diemcau.live import thumbs
from diemcau.live.models import LiveToken
from diemcau.orgs.models import Role

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 500 + b"\xff\xd9"


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR, settings.LIVE_THUMBS_DIR = tmp_path, ""
    return tmp_path


def _token(user, point, purpose=LiveToken.Purpose.KIOSK) -> str:
    row = LiveToken.objects.create(token=secrets.token_hex(16), user=user, conference=point.conference, point=point,
                                   purpose=purpose, expires_at=timezone.now() + datetime.timedelta(hours=1))
    return row.token


def _post(client, point, token, data=JPEG):
    return client.post(f"/api/live/points/{point.pk}/thumbnail", data=data, content_type="image/jpeg",
                       HTTP_X_LIVE_TOKEN=token)


def test_kiosk_posts_its_own_picture_and_only_the_latest_is_kept(client, live_world, var_dir):
    w = live_world
    op, point = w["ops"]["bavi"], w["bavi"]
    client.force_login(op)
    token = _token(op, point)
    r = _post(client, point, token)
    assert r.status_code == 200, r.content
    assert "taken_at" in r.json()
    assert (var_dir / "live" / "thumbs" / f"{point.pk}.jpg").read_bytes() == JPEG
    # A second picture 5 s later replaces the first; no temporary file is left behind.
    path = thumbs.path_for(point.pk)
    old = path.stat().st_mtime - 6
    os.utime(path, (old, old))
    second = JPEG[:-2] + b"\x01\x02\xff\xd9"
    assert _post(client, point, token, second).status_code == 200
    assert path.read_bytes() == second
    assert sorted(p.name for p in path.parent.iterdir()) == [f"{point.pk}.jpg"]


def test_refusals_store_nothing(client, live_world, var_dir):
    w = live_world
    op, point = w["ops"]["bavi"], w["bavi"]
    client.force_login(op)
    token = _token(op, point)
    folder = var_dir / "live" / "thumbs"

    def stored():
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    # Another point (in the same conference, not run by this operator): its own token is not this one's.
    # (Scope refusals answer 404 ``not_found``, like every out-of-scope request of the API.)
    assert _post(client, w["school"], token).status_code == 404
    other_token = _token(w["ops"]["school"], w["school"])
    assert _post(client, w["school"], other_token).status_code == 404
    # No token, a director's token, not a JPEG, too big, empty.
    assert _post(client, point, "").status_code == 404
    director_token = _token(op, point, LiveToken.Purpose.DIRECTOR)
    assert _post(client, point, director_token).status_code == 404
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    r = _post(client, point, token, png)
    assert r.status_code == 400 and r.json()["code"] == "not_jpeg"
    r = _post(client, point, token, JPEG + b"\x00" * (64 * 1024))
    assert r.status_code == 400 and r.json()["code"] == "too_big"
    assert _post(client, point, token, b"").json()["code"] == "empty"
    assert stored() == []
    # A flood: the second picture within 5 s is refused and the first one stays.
    assert _post(client, point, token).status_code == 200
    r = _post(client, point, token, JPEG[:-2] + b"\x07\xff\xd9")
    assert r.status_code == 400 and r.json()["code"] == "too_frequent"
    assert thumbs.path_for(point.pk).read_bytes() == JPEG
    assert stored() == [f"{point.pk}.jpg"]


def test_the_picture_is_served_in_scope_only(client, live_world, var_dir, make_user):
    w = live_world
    tree = w["tree"]
    point = w["school"]
    thumbs.store(w["ops"]["school"], point, JPEG)
    url = f"/live/points/{point.pk}/thumbnail.jpg"
    ages_url = f"/api/live/conferences/{w['conference'].pk}/thumbnails?ids={point.pk},{w['socson'].pk}"

    client.force_login(w["director"])
    r = client.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg" and r["Cache-Control"] == "no-store"
    assert b"".join(r.streaming_content) == JPEG
    ages = client.get(ages_url).json()["ages"]
    assert ages[str(point.pk)] is not None and ages[str(point.pk)] < 5
    assert ages[str(w["socson"].pk)] is None  # no picture yet

    bavi_org = make_user("org_bavi", Role.UNIT_ORGANISER, tree["bavi"])
    client.force_login(bavi_org)
    assert client.get(url).status_code == 200

    # An organiser of another district sees neither the picture nor its age.
    socson_org = make_user("org_socson", Role.UNIT_ORGANISER, tree["socson"])
    client.force_login(socson_org)
    assert client.get(url).status_code == 404
    assert str(point.pk) not in client.get(ages_url).json()["ages"]
    # A point without a picture yet: 404 too.
    client.force_login(w["director"])
    assert client.get(f"/live/points/{w['socson'].pk}/thumbnail.jpg").status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
