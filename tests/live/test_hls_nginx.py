"""nginx checks diemcau's signed HLS links itself (deploy/nginx/hls-secure-link.conf), with the real nginx."""

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from diemcau.live import hls as live_hls
from tests.environment import missing
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"



def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return 0  # not listening (yet)


@pytest.fixture
def nginx_hls(tmp_path, settings):
    if not Path(NGINX).exists():
        missing(f"{NGINX} is missing (install Debian's nginx package)")
    settings.LIVE_HLS_SECRET = "bí-mật-chung-với-nginx"
    hls = tmp_path / "hls"
    hls.mkdir()
    (hls / "index.m3u8").write_text("#EXTM3U\n#EXTINF:2.0,\nseg_00001.ts\n")
    (hls / "seg_00001.ts").write_bytes(b"G" * 188)
    snippet = (ROOT / "deploy" / "nginx" / "hls-secure-link.conf").read_text()
    snippet = snippet.replace("@HLS_SECRET@", settings.LIVE_HLS_SECRET).replace("@HLS_ROOT@", str(hls))
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the tmp folder (0700)
    (tmp_path / "nginx.conf").write_text(f"""
{user}
daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
events {{}}
http {{
  access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};
  fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};
  server {{ listen 127.0.0.1:{port}; {snippet} }}
}}""")
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while _get(f"http://127.0.0.1:{port}/") == 0 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp_path / "client_body_temp", ignore_errors=True)


def test_nginx_checks_the_links_diemcau_signs(nginx_hls, live_world):
    w = live_world
    link = live_hls.hls_link(w["director"], w["conference"])
    assert _get(nginx_hls + link) == 200
    assert _get(nginx_hls + link.rsplit("/", 1)[0] + "/seg_00001.ts") == 200
    assert _get(nginx_hls + link.replace(f"/{w['conference'].pk}/", f"/{w['conference'].pk + 7}/")) == 403
    expired = live_hls.hls_path(w["conference"].pk, int(time.time()) - 5) + "index.m3u8"
    assert _get(nginx_hls + expired) == 410
    assert _get(nginx_hls + "/live/hls/index.m3u8") == 404


def test_nginx_serves_each_conference_of_the_days_runtime_from_its_folder(nginx_hls, live_world, tmp_path):
    """The day's runtime packages each conference in ``<root>/<conference>/`` (live.hls.hls_folder)."""
    other = live_world["conference"].pk + 7
    (tmp_path / "hls" / str(other)).mkdir()
    (tmp_path / "hls" / str(other) / "index.m3u8").write_text("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:42\n")
    link = live_hls.hls_path(other, int(time.time()) + 300) + "index.m3u8"
    with urllib.request.urlopen(nginx_hls + link, timeout=5) as response:  # noqa: S310 - loopback
        assert b"SEQUENCE:42" in response.read()
    own = live_hls.hls_link(live_world["director"], live_world["conference"])
    with urllib.request.urlopen(nginx_hls + own, timeout=5) as response:  # noqa: S310 - loopback
        assert b"seg_00001.ts" in response.read()  # a runtime for one conference: the root folder
