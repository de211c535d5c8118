"""The project's grammar set (labels checkable by rule, shipped files reproducible) and CoLA's download/extraction."""

from __future__ import annotations

import functools
import io
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from workshop.cli.main import main
from workshop.datasets.cola import FILES, extract_cola
from workshop.core.errors import WorkshopError
from workshop.datasets.labelled import read_labelled
from workshop.datasets.grammar import ATTRACTORS, SHIPPED_DIR, SUBJECTS, VERBS, generate_grammar, write_grammar


def parse(sentence: str) -> tuple[int, int] | None:
    """(subject number, verb number) of a well-ordered template sentence, else None (words out of order)."""
    for (sg, pl), (vs, vp, complement) in ((s, v) for s in SUBJECTS for v in VERBS):
        for number, subject in enumerate((sg, pl)):
            middles = [""] + [f" {p} the {n}" for p, *nouns in ATTRACTORS for n in nouns]
            for middle in middles:
                for verb_number, verb in enumerate((vs, vp)):
                    if sentence.lower() == f"the {subject}{middle} {verb} {complement}.":
                        return number, verb_number
    return None


def test_labels_follow_the_rules():
    splits = generate_grammar({"train": 60, "val": 20, "test": 40}, seed=5)
    for name, rows in splits.items():
        assert sum(label for _, label, _ in rows) == len(rows) // 2  # balanced
        for sentence, label, error in rows:
            parsed = parse(sentence)
            if error == "word order":
                assert parsed is None and label == 0
                words = sentence.rstrip(".").split()
                swaps = [words[:i] + [words[i + 1], words[i]] + words[i + 2:] for i in range(len(words) - 1)]
                restored = [" ".join(w) + "." for w in swaps]
                assert sentence[0].isupper() and sentence[1:] == sentence[1:].lower()  # "The" moved: written "the"
                assert any(parse(r) is not None and parse(r)[0] == parse(r)[1] for r in restored), sentence
            else:
                assert parsed is not None, sentence
                subject_number, verb_number = parsed
                assert label == int(subject_number == verb_number) and (error == "agreement") == (label == 0)
    assert {e for rows in splits.values() for _, _, e in rows} == {"", "agreement", "word order"}
    texts = [s for rows in splits.values() for s, _, _ in rows]
    assert len(set(texts)) == len(texts)  # no sentence in two places


def test_shipped_files_are_the_generators(tmp_path, capsys):
    assert main(["data", "grammar", "--out-dir", str(tmp_path)]) == 0
    assert "test: 200 sentences (0: 100, 1: 100)" in capsys.readouterr().out
    for name in ("train", "val", "test"):
        assert (tmp_path / f"{name}.tsv").read_bytes() == (SHIPPED_DIR / f"{name}.tsv").read_bytes(), name
        assert len(read_labelled(SHIPPED_DIR / f"{name}.tsv")) == {"train": 1200, "val": 80, "test": 200}[name]
    assert write_grammar(tmp_path / "again")["train"].read_bytes() == (SHIPPED_DIR / "train.tsv").read_bytes()


def cola_zip(counts: dict[str, int] | None = None) -> bytes:
    """A zip in cola_public_1.1's layout with synthetic rows (CoLA's 4 columns)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for split, (name, rows) in FILES.items():
            n = (counts or {}).get(split, rows)
            zf.writestr(f"cola_public/raw/{name}",
                        "".join(f"src\t{i % 2}\t{'' if i % 2 else '*'}\tSentence {i}.\n" for i in range(n)))
    return buffer.getvalue()


def test_cola_extraction_checks_the_published_sizes(tmp_path):
    good = tmp_path / "cola.zip"
    good.write_bytes(cola_zip())
    written = extract_cola(good, tmp_path / "cola")
    assert {k: p.name for k, p in written.items()} == {k: v[0] for k, v in FILES.items()}
    assert len(read_labelled(written["test"])) == 516
    bad = tmp_path / "bad.zip"
    bad.write_bytes(cola_zip({"dev": 500}))
    with pytest.raises(WorkshopError, match="in_domain_dev.tsv has 500 sentences, CoLA's has 527"):
        extract_cola(bad, tmp_path / "x")
    (tmp_path / "junk.zip").write_text("not a zip")
    with pytest.raises(WorkshopError, match="not a readable zip"):
        extract_cola(tmp_path / "junk.zip", tmp_path / "x")


def test_data_cola_downloads_through_fetch(tmp_path, monkeypatch, capsys):
    served = tmp_path / "www"
    served.mkdir()
    (served / "cola_public_1.1.zip").write_bytes(cola_zip())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path / "cache"))
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/cola_public_1.1.zip"
        assert main(["data", "cola", "--url", url, "--out-dir", str(tmp_path / "cola")]) == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    out = capsys.readouterr().out
    assert "train: 8551 sentences" in out and "test: 516 sentences" in out
    assert list((tmp_path / "cache" / "downloads").glob("*-cola_public_1.1.zip"))  # cached for the next run
    assert Path(tmp_path / "cola" / "out_of_domain_dev.tsv").is_file()
    assert main(["data", "cola", "--url", "http://127.0.0.1:9/none.zip", "--out-dir", str(tmp_path / "c2")]) == 2
    assert "cannot reach" in capsys.readouterr().err
