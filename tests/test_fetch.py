"""download_file and load_text against a local HTTP server with Range support."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workshop.core.errors import WorkshopError
from workshop.gpt.data import load_text
from workshop.core.fetch import download_file

PAYLOAD = bytes(range(256)) * 1000  # 256,000 bytes


class FileServer:
    """Serves `files` {path: bytes}; honours Range unless `ranges` is False; logs Range headers."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.ranges, self.range_headers, self.truncate_to = files, True, [], None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                wanted = self.headers.get("Range")
                server.range_headers.append(wanted)
                start = int(wanted.split("=")[1].rstrip("-")) if wanted and server.ranges else 0
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start : server.truncate_to])

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = FileServer({"/model.bin": PAYLOAD, "/story.txt": "A short story.\n".encode()})
    yield srv
    srv.close()


def test_download_whole_file(server, tmp_path):
    dest = download_file(f"{server.url}/model.bin", tmp_path / "model.bin", progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "model.bin.part").exists()
    download_file(f"{server.url}/model.bin", dest, progress=False)  # present: no second request
    assert server.range_headers == [None]


def test_download_resumes_with_range(server, tmp_path):
    (tmp_path / "model.bin.part").write_bytes(PAYLOAD[:100_000])
    dest = download_file(f"{server.url}/model.bin", tmp_path / "model.bin", progress=False)
    assert server.range_headers == ["bytes=100000-"]
    assert dest.read_bytes() == PAYLOAD


def test_download_restarts_when_server_ignores_range(server, tmp_path):
    server.ranges = False
    (tmp_path / "model.bin.part").write_bytes(b"stale bytes")
    dest = download_file(f"{server.url}/model.bin", tmp_path / "model.bin", progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_short_download_is_kept_for_resume(server, tmp_path):
    server.truncate_to = 50_000
    with pytest.raises(WorkshopError, match="run .*again to resume"):
        download_file(f"{server.url}/model.bin", tmp_path / "model.bin", progress=False)
    assert (tmp_path / "model.bin.part").stat().st_size == 50_000
    assert not (tmp_path / "model.bin").exists()
    server.truncate_to = None
    assert download_file(f"{server.url}/model.bin", tmp_path / "model.bin", progress=False).read_bytes() == PAYLOAD
    assert server.range_headers[-1] == "bytes=50000-"


def test_sha256_mismatch_and_missing_url(server, tmp_path):
    with pytest.raises(WorkshopError, match="sha256 differs"):
        download_file(f"{server.url}/model.bin", tmp_path / "a.bin", sha256="0" * 64, progress=False)
    assert not (tmp_path / "a.bin").exists() and not (tmp_path / "a.bin.part").exists()
    with pytest.raises(WorkshopError, match="HTTP 404"):
        download_file(f"{server.url}/nope.bin", tmp_path / "b.bin", progress=False)


def test_offline_is_one_line_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(WorkshopError) as err:
        download_file(f"http://127.0.0.1:{port}/x.bin", tmp_path / "x.bin", progress=False, timeout=5)
    assert "cannot reach" in str(err.value) and "\n" not in str(err.value)


def test_load_text_url_is_cached_and_checked(server, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path / "cache"))
    digest = hashlib.sha256(b"A short story.\n").hexdigest()
    assert load_text(f"{server.url}/story.txt", sha256=digest) == "A short story.\n"
    server.close()  # cached now: no server needed
    assert load_text(f"{server.url}/story.txt", sha256=digest) == "A short story.\n"
    assert len(list((tmp_path / "cache" / "downloads").iterdir())) == 1


def test_load_text_file_errors(tmp_path):
    with pytest.raises(WorkshopError, match="text file not found"):
        load_text(tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(WorkshopError, match="not UTF-8"):
        load_text(tmp_path / "latin1.txt")
    (tmp_path / "ok.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(WorkshopError, match="sha256 differs"):
        load_text(tmp_path / "ok.txt", sha256="0" * 64)
