"""`workshop serve` end to end: a real server on 127.0.0.1, the official openai client, raw HTTP for bad requests.

References are computed in-process on the same checkpoint: greedy replies from `workshop.load(...).generate`,
log-probs from a plain full forward's log-softmax.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import openai
import pytest
import torch

import workshop
from conftest import SERVER_KEY
from workshop.models.engine import generate_tokens

NAME = "tiny-llama"  # the served id: the checkpoint folder's name
PROMPT = "What is the capital of France?"


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint_dir):
    return workshop.load(tiny_checkpoint_dir)


@pytest.fixture(scope="module")
def client(tiny_server):
    return openai.OpenAI(base_url=tiny_server, api_key=SERVER_KEY, max_retries=0)


def greedy_tokens(tiny, ids, n):
    return generate_tokens(tiny.model, [ids], n, tiny.stop_tokens)[0]


def post(url: str, path: str, body: bytes | dict, key: str | None = SERVER_KEY) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url + path, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_models_lists_the_served_name(client):
    assert [m.id for m in client.models.list().data] == [NAME]


def test_chat_equals_workshop_generate(client, tiny):
    r = client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": PROMPT}], max_tokens=24,
                                       temperature=0)
    ids = tiny.encode(tiny.chat_prompt(PROMPT))
    tokens = greedy_tokens(tiny, ids, 24)
    assert r.choices[0].message.content == tiny.decode(tokens)
    assert r.choices[0].message.content.strip() == tiny.generate(PROMPT, max_new_tokens=24)
    stopped = len(tokens) < 24
    assert r.choices[0].finish_reason == ("stop" if stopped else "length")
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (len(ids), len(tokens) + stopped)  # + the stop token
    stream = client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": PROMPT}], max_tokens=24,
                                            temperature=0, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == r.choices[0].message.content


def test_system_message_is_the_sys_prompt(client, tiny):
    system = "You answer in one word."
    r = client.chat.completions.create(model=NAME, max_tokens=12, messages=[
        {"role": "system", "content": system}, {"role": "user", "content": PROMPT}])
    assert r.choices[0].message.content.strip() == tiny.generate(PROMPT, max_new_tokens=12, sys_prompt=system)


def test_completions_equal_raw_generate(client, tiny):
    prompt = "Once upon a time"
    r = client.completions.create(model=NAME, prompt=prompt, max_tokens=16, temperature=0)
    assert r.choices[0].text == tiny.decode(greedy_tokens(tiny, tiny.encode(prompt), 16))
    assert r.choices[0].text.strip() == tiny.generate(prompt, max_new_tokens=16, chat=False)


def test_logprobs_equal_the_in_process_log_softmax(client, tiny):
    r = client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": PROMPT}], max_tokens=6,
                                       logprobs=True, top_logprobs=5)
    ids = tiny.encode(tiny.chat_prompt(PROMPT))
    tokens = greedy_tokens(tiny, ids, 6)
    with torch.no_grad():
        logp = tiny.model(torch.tensor([ids + tokens]))[0, len(ids) - 1 : -1].float().log_softmax(-1)  # (6, V)
    content = r.choices[0].logprobs.content
    assert [e.token for e in content] == [tiny.decode([t]) for t in tokens]
    for j, entry in enumerate(content):
        assert entry.logprob == pytest.approx(float(logp[j, tokens[j]]), abs=1e-4)
        best = torch.topk(logp[j], 5)
        assert [t.token for t in entry.top_logprobs] == [tiny.decode([int(i)]) for i in best.indices]
        assert [t.logprob for t in entry.top_logprobs] == pytest.approx(best.values.tolist(), abs=1e-4)


def test_echo_scores_the_prompt_tokens(client, tiny):
    prompt = "The cat sat on the mat"
    ids = tiny.encode(prompt)
    r = client.completions.create(model=NAME, prompt=prompt, echo=True, logprobs=2, max_tokens=2, temperature=0)
    lp = r.choices[0].logprobs
    assert lp.tokens[: len(ids)] == [tiny.decode([i]) for i in ids]
    assert r.choices[0].text.startswith(prompt)
    with torch.no_grad():
        logp = tiny.model(torch.tensor([ids]))[0].float().log_softmax(-1)  # (L, V)
    assert lp.token_logprobs[0] is None
    assert lp.token_logprobs[1 : len(ids)] == pytest.approx([float(logp[i - 1, ids[i]]) for i in range(1, len(ids))],
                                                            abs=1e-4)
    assert lp.text_offset[: len(ids)] == [len(tiny.decode(ids[:i])) for i in range(len(ids))]


def test_concurrent_requests_each_equal_their_own_run(client, tiny):
    prompts = [("Name a color.", 5), ("Count to three.", 19), ("Why is the sky blue?", 11), ("Hi", 3),
               ("Write a haiku about rain.", 16), ("2+2=?", 8)]

    def ask(item):
        prompt, n = item
        return client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": prompt}],
                                              max_tokens=n).choices[0].message.content.strip()

    with ThreadPoolExecutor(len(prompts)) as pool:
        replies = list(pool.map(ask, prompts))
    assert replies == [tiny.generate(p, max_new_tokens=n) for p, n in prompts]


def test_stop_strings_cut_the_text(client, tiny):
    prompt = "Once upon a time"
    full = tiny.decode(greedy_tokens(tiny, tiny.encode(prompt), 16))
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    r = client.completions.create(model=NAME, prompt=prompt, max_tokens=16, stop=[stop])
    assert r.choices[0].text == full[: full.find(stop)]
    assert r.choices[0].finish_reason == "stop"


def test_seeded_sampling_repeats_and_n_choices_differ(client):
    ask = dict(model=NAME, messages=[{"role": "user", "content": PROMPT}], max_tokens=8, temperature=1.0, seed=7, n=2)
    first, second = client.chat.completions.create(**ask), client.chat.completions.create(**ask)
    texts = [c.message.content for c in first.choices]
    assert texts == [c.message.content for c in second.choices]
    assert len(texts) == 2 and texts[0] != texts[1]


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/chat/completions", b'{"model": "tiny-llama", "messages": [', 400, "not valid JSON"),
        ("/chat/completions", {"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}, 404,
         "model 'gpt-4' is not served here"),
        ("/chat/completions", {"messages": [{"role": "user", "content": "word " * 2000}]}, 400,
         "this model's context is 1024"),
        ("/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}, 400,
         "max_tokens: Input should be greater than or equal to 0"),
        ("/chat/completions", {"messages": []}, 400, "messages: List should have at least 1 item"),
        ("/chat/completions", {"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}, 400,
         "set logprobs to true"),
        ("/chat/completions", {"messages": [{"role": "user", "content": "x"}], "presence_penalty": 0.5}, 400,
         "penalties are not supported"),
        ("/chat/completions", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                            {"role": "user", "content": "c"}]}, 400, "takes one user message"),
        ("/completions", {"prompt": [1, 2, 99999999]}, 400, "token ids must lie in 0..50256"),
        ("/completions", {"prompt": "x", "max_tokens": -5}, 400, "max_tokens"),
        ("/completions", [1, 2], 400, "must be a JSON object"),
        ("/completions", {"prompt": "x", "max_tokens": 1000000000}, 400,
         "max_tokens: this model's maximum context length is 1024 tokens and the prompt is 1, so at most 1023 can be "
         "generated, but max_tokens is 1000000000; lower it (or start the server with --clamp-max-tokens)"),
        ("/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 5000}, 400,
         "max_completion_tokens: this model's maximum context length is 1024 tokens"),
        ("/completions", {"prompt": "x", "logprobs": 50305}, 400,
         "logprobs: at most 50304 (the server's --max-logprobs), asked for 50305"),
        ("/completions", {"prompt": "x", "n": 17}, 400, "n: at most 16 choices per request; this one asks for 17"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message(tiny_server, path, body, status, says):
    code, reply = post(tiny_server, path, body)
    assert code == status
    assert says in reply["error"]["message"]


def test_clamp_max_tokens_shortens_instead_of_refusing(tiny_checkpoint_dir):
    from workshop.serve.api import OpenAIEndpoints
    from workshop.serve.prompts import Prompter
    from workshop.serve.protocol import RequestError

    ids = list(range(24))
    strict, clamping = (OpenAIEndpoints(tiny_checkpoint_dir, [NAME], 256, 0.0, 20, clamp) for clamp in (False, True))
    strict.prompter = clamping.prompter = Prompter(tiny_checkpoint_dir)
    assert clamping._room(ids, 10**9, "max_tokens") == 1024 - 24
    assert (strict._room(ids, 1000, "max_tokens"), strict._room(ids, None, "max_tokens")) == (1000, 256)
    with pytest.raises(RequestError, match="at most 1000 can be generated") as refused:
        strict._room(ids, 1001, "max_tokens")
    assert (refused.value.status, refused.value.param) == (400, "max_tokens")


def test_the_api_key_is_required(tiny_server):
    body = {"messages": [{"role": "user", "content": "x"}], "max_tokens": 1}
    assert post(tiny_server, "/chat/completions", body, key=None)[0] == 401
    assert post(tiny_server, "/chat/completions", body, key="wrong")[0] == 401
    assert post(tiny_server, "/chat/completions", body)[0] == 200


def test_a_client_leaving_mid_stream_does_not_disturb_others(tiny_server, client, tiny):
    url = urlparse(tiny_server)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    body = {"messages": [{"role": "user", "content": "Tell me a long story."}], "max_tokens": 400, "stream": True}
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"Content-Type": "application/json", "Authorization": f"Bearer {SERVER_KEY}"})
    with ThreadPoolExecutor(1) as pool:  # another request, decoded alongside the one that leaves
        other = pool.submit(lambda: client.chat.completions.create(
            model=NAME, messages=[{"role": "user", "content": PROMPT}], max_tokens=20).choices[0].message.content)
        response = conn.getresponse()
        assert response.status == 200
        lines = [response.readline() for _ in range(4)]
        assert lines[0].startswith(b"data: {")
        conn.close()  # leave mid-stream
        assert other.result().strip() == tiny.generate(PROMPT, max_new_tokens=20)
    after = client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": "Hi"}], max_tokens=5)
    assert after.choices[0].message.content.strip() == tiny.generate("Hi", max_new_tokens=5)


@pytest.mark.slow
def test_smollm2_answers_the_official_clients_chat_request(smollm2_dir, tmp_path):
    from workshop.models.testing import running_server

    with running_server(smollm2_dir, tmp_path / "serve.log") as url:
        smol = openai.OpenAI(base_url=url, api_key="EMPTY")
        [model] = [m.id for m in smol.models.list().data]
        reply = smol.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}],
                                             temperature=0, max_tokens=32).choices[0].message.content
    assert model in ("HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct")  # by where it was built
    assert reply == "The capital of France is Paris."
    assert reply == workshop.load(smollm2_dir).generate(PROMPT, max_new_tokens=32)
