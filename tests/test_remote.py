"""An OpenAI-compatible server as model and judge, against a real `workshop serve` (tests/conftest.py `tiny_server`).

Every comparison is with the in-process run on the same checkpoint: respond output identical, judge
generate mode identical, logits mode within 1e-3 where the server's top_logprobs cover every score.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from conftest import SERVER_KEY_ENV

import workshop
from workshop.cli.main import main
from workshop.core.errors import WorkshopError
from workshop.core.io import AppendLog, read_json, read_jsonl
from workshop.judge import score
from workshop.judge.logits import summarize
from workshop.judge.prompt import build_prompt
from workshop.models.llm import LoadedModel
from workshop.models.protocol import open_model
from workshop.models.remote import SCORE_TEXTS, RemoteModel, RemoteOptions, single_token_problem
from workshop.respond import respond, settings_hash
from workshop.models.score_probs import score_token_ids
from workshop.models.testing import free_port

# The fixture checkpoint uses the Alpaca prompt style, whose Input section a chat API cannot express,
# so these entries have no input (with one, the server receives instruction + input as one user turn).
ENTRIES = [
    {"instruction": "What is the capital of Italy?", "input": "", "output": "Rome."},
    {"instruction": "Name a primary color.", "input": "", "output": "Red."},
    {"instruction": "Convert 3 km to meters.", "input": "", "output": "3000 meters."},
    {"instruction": "Give an antonym of happy.", "input": "", "output": "sad"},
    {"instruction": "Rewrite in passive voice: The cat chased the mouse.", "input": "", "output": "The mouse was chased."},
]
VOCAB = 50304  # top_logprobs this large lists every token: every score is covered


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint_dir):
    return workshop.load(tiny_checkpoint_dir)


@pytest.fixture(scope="module")
def remote(tiny_server):
    return RemoteModel(tiny_server, RemoteOptions(api_key_env=SERVER_KEY_ENV))


@pytest.fixture(scope="module")
def judged():
    return [{**e, "response": r} for e, r in zip(ENTRIES, ["Rome.", "Blue", "3 meters", "joyful", "The mouse chased."])]


def test_respond_through_the_server_equals_in_process(tiny, remote):
    here = respond(tiny, ENTRIES, "response", batch_size=2, max_new_tokens=12)
    there = respond(remote, ENTRIES, "response", batch_size=2, max_new_tokens=12)
    assert [e["response"] for e in there] == [e["response"] for e in here]
    assert all(e["response"] for e in there)


def test_remote_respond_resumes_from_its_progress_file(remote, tmp_path):
    progress = tmp_path / "progress.jsonl"
    run = settings_hash(remote, "response", max_new_tokens=12, temperature=0.0, seed=None, batch_size=2)
    with AppendLog(progress) as log:
        log.append({"run": run, "index": 2, "response": "CACHED"})
    out = respond(remote, ENTRIES, "response", batch_size=2, max_new_tokens=12, progress_path=progress)
    assert out[2]["response"] == "CACHED"
    assert sorted(r["index"] for r in AppendLog(progress).records()) == [0, 1, 2, 3, 4]


def test_respond_cli_with_a_url(tiny_server, tiny_checkpoint_dir, tmp_path):
    data = tmp_path / "test.json"
    data.write_text(json.dumps(ENTRIES))
    common = ["--data", str(data), "--key", "response", "--max-new-tokens", "10"]
    assert main(["respond", "--model", tiny_server, "--api-key-env", SERVER_KEY_ENV, "--served-model", "tiny-llama",
                 "--concurrency", "3", "--out", str(tmp_path / "remote.json"), *common]) == 0
    assert main(["respond", "--model", str(tiny_checkpoint_dir), "--out", str(tmp_path / "local.json"), *common]) == 0
    assert read_json(tmp_path / "remote.json") == read_json(tmp_path / "local.json")


def test_open_model_gives_one_interface_wherever_the_model_runs(tiny_checkpoint_dir, tiny_server):
    """`open_model` is the one edge: a checkpoint name and a URL give the same `Model` answers."""
    here = open_model(str(tiny_checkpoint_dir), device="cpu")
    there = open_model(tiny_server, remote=RemoteOptions(api_key_env=SERVER_KEY_ENV, top_logprobs=VOCAB))
    assert isinstance(here, LoadedModel) and isinstance(there, RemoteModel) and open_model(here) is here
    assert here.name == str(tiny_checkpoint_dir.resolve()) and there.name.endswith(f"(top_logprobs {VOCAB})")
    assert here.score_probs_problem is None and there.score_probs_problem is None
    prompts = ["Rate the answer 'Rome.' from 0 to 100.", "Give a score."]
    local, remote_probs = here.score_probs(prompts), there.score_probs(prompts)
    assert local.shape == remote_probs.shape == (2, 101)
    torch.testing.assert_close(remote_probs, local.double(), atol=1e-4, rtol=1e-3)
    assert there.generate_batch(prompts, max_new_tokens=6) == here.generate_batch(prompts, max_new_tokens=6)


def test_judge_logits_mode_through_the_server_within_1e_3(tiny_checkpoint_dir, tiny_server, judged):
    local, local_summary = score(judged, ["response"], judge=str(tiny_checkpoint_dir), mode="logits", progress=False)
    there, summary = score(judged, ["response"], judge=tiny_server, mode="auto", progress=False,
                           remote=RemoteOptions(api_key_env=SERVER_KEY_ENV, top_logprobs=VOCAB))
    assert summary["mode"] == "logits" and [r["mode"] for r in there] == ["logits"] * len(judged)
    for a, b in zip(local, there):
        assert b["score"] == pytest.approx(a["score"], abs=1e-3)
        assert b["valid_mass"] == pytest.approx(a["valid_mass"], rel=1e-3)
        assert b["argmax"] == a["argmax"]


def test_judge_logits_with_top_20_reads_the_listed_scores_only(tiny, tiny_server, judged):
    """With k = 20 the score is the mean over the scores among the 20 most likely tokens (in-process reference)."""
    there, _ = score(judged, ["response"], judge=tiny_server, mode="logits", progress=False,
                     remote=RemoteOptions(api_key_env=SERVER_KEY_ENV, top_logprobs=20))
    score_ids = torch.tensor([seq[0] for seq in score_token_ids(tiny)])
    for entry, record in zip(judged, there):
        ids = tiny.encode(tiny.chat_prompt(build_prompt(entry, "response")))
        with torch.no_grad():
            logp = tiny.model(torch.tensor([ids]))[0, -1].float().log_softmax(-1)  # (V,)
        listed = torch.isin(score_ids, torch.topk(logp, 20).indices)
        expected = summarize(torch.where(listed, logp[score_ids].exp(), torch.zeros(())).double())
        if expected["score"] is None:
            assert record["score"] is None and "no probability" in record["reason"]
        else:
            assert record["score"] == pytest.approx(expected["score"], abs=1e-3)
            assert record["valid_mass"] == pytest.approx(expected["valid_mass"], rel=1e-3)


def test_judge_generate_mode_through_the_server_is_identical(tiny_checkpoint_dir, tiny_server, judged):
    local, _ = score(judged, ["response"], judge=str(tiny_checkpoint_dir), mode="generate", max_new_tokens=8,
                     progress=False)
    there, _ = score(judged, ["response"], judge=tiny_server, mode="generate", max_new_tokens=8, progress=False,
                     remote=RemoteOptions(api_key_env=SERVER_KEY_ENV))
    assert [(r["score"], r["raw"], r["reason"]) for r in there] == [(r["score"], r["raw"], r["reason"]) for r in local]


def test_judge_cli_with_a_url_matches_the_in_process_run(tiny_checkpoint_dir, tiny_server, judged, tmp_path):
    data = tmp_path / "judged.json"
    data.write_text(json.dumps(judged))
    assert main(["judge", "--data", str(data), "--key", "response", "--judge", tiny_server, "--api-key-env",
                 SERVER_KEY_ENV, "--top-logprobs", str(VOCAB), "--out-dir", str(tmp_path / "remote")]) == 0
    assert main(["judge", "--data", str(data), "--key", "response", "--judge", str(tiny_checkpoint_dir),
                 "--out-dir", str(tmp_path / "local")]) == 0
    remote_scores = [r["score"] for r in read_jsonl(tmp_path / "remote" / "scores.jsonl")]
    local_scores = [r["score"] for r in read_jsonl(tmp_path / "local" / "scores.jsonl")]
    assert remote_scores == pytest.approx(local_scores, abs=1e-3)
    # a rerun is answered from the cache: the server is not asked again
    assert main(["judge", "--data", str(data), "--key", "response", "--judge", tiny_server, "--api-key-env",
                 SERVER_KEY_ENV, "--top-logprobs", str(VOCAB), "--out-dir", str(tmp_path / "remote")]) == 0
    assert [r["score"] for r in read_jsonl(tmp_path / "remote" / "scores.jsonl")] == remote_scores


def test_score_tokens_are_checked_through_the_tokenization(tiny, tmp_path):
    """The fallback rule on real tokenizations: GPT-2's BPE keeps 0..100 whole, a digit-splitting one does not."""
    from workshop.models.testing import tiny_checkpoint

    digits = workshop.load(tiny_checkpoint(tmp_path / "digits", tokenizer="digits"))
    pieces = lambda lm: [[lm.decode([i]) for i in lm.encode(text)] for text in SCORE_TEXTS]  # noqa: E731
    assert single_token_problem(pieces(tiny)) is None
    assert single_token_problem(pieces(digits)) == "the scores 0..100 are not one token each for this model " \
                                                   "(10 is ['1', '0'])"


def test_an_unreachable_server_is_one_line(capsys, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    model = RemoteModel(url, RemoteOptions(served_model="x", retries=0))
    with pytest.raises(WorkshopError, match="no answer after 0 retries"):
        model.generate_batch(["hi"])
    data = tmp_path / "d.json"
    data.write_text(json.dumps(ENTRIES[:1]))
    assert main(["respond", "--model", url, "--data", str(data), "--key", "r", "--retries", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"workshop: error: {url}: no answer") and "\n" not in err


class FlakyProxy(BaseHTTPRequestHandler):
    """Answers the first `failures` POSTs with 503, then forwards to the real server."""

    failures, seen, target = 0, 0, ""

    def do_GET(self):
        self.forward(None)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen += 1
        if type(self).seen <= type(self).failures:
            self.reply(503, json.dumps({"error": {"message": "busy, try again"}}).encode())
        else:
            self.forward(body)

    def forward(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
        request = urllib.request.Request(self.target + self.path.removeprefix("/v1"), data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as r:
            self.reply(r.status, r.read())

    def reply(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_retries_with_backoff_get_through_a_busy_server(tiny_server, tiny):
    FlakyProxy.failures, FlakyProxy.seen, FlakyProxy.target = 2, 0, tiny_server
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), FlakyProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        options = RemoteOptions(api_key_env=SERVER_KEY_ENV, served_model="tiny-llama", retries=2)
        assert RemoteModel(url, options).generate_batch(["Hi"], max_new_tokens=5) == [tiny.generate("Hi", max_new_tokens=5)]
        assert FlakyProxy.seen == 3  # two 503s, then the answer
        FlakyProxy.failures, FlakyProxy.seen = 1, 0
        with pytest.raises(WorkshopError, match="the server answered 503: busy, try again"):
            RemoteModel(url, RemoteOptions(api_key_env=SERVER_KEY_ENV, served_model="tiny-llama", retries=0)) \
                .generate_batch(["Hi"], max_new_tokens=5)
    finally:
        proxy.shutdown()


@pytest.mark.slow
def test_a_digit_splitting_model_falls_back_to_generate_mode_and_says_so(tmp_path, capsys, judged):
    """Against a server whose model writes "85" as "8", "5": one line, then generate mode, same as in-process."""
    from workshop.models.testing import running_server, tiny_checkpoint

    ckpt = tiny_checkpoint(tmp_path / "digits", tokenizer="digits")
    with running_server(ckpt, tmp_path / "serve.log") as url:
        there, summary = score(judged, ["response"], judge=url, mode="logits", max_new_tokens=8, progress=False)
    assert summary["mode"] == "generate"
    assert "the scores 0..100 are not one token each for this model" in capsys.readouterr().err
    local, _ = score(judged, ["response"], judge=str(ckpt), mode="generate", max_new_tokens=8, progress=False)
    assert [(r["score"], r["raw"]) for r in there] == [(r["score"], r["raw"]) for r in local]
