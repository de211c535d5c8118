"""Logits mode on tiny checkpoints: the digit tree equals brute force, batching and reruns change nothing."""

from pathlib import Path

import pytest
import torch

from workshop.judge import score
from workshop.judge.logits import summarize
from workshop.models.score_probs import build_tree, score_probs, score_token_ids, tree_inputs
from workshop.models.llm import load

from test_judge_fixtures import one_thread, tiny_digits_dir  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("one_thread")


SHORT = "Reference: {output}\nAnswer: {response}\nScore 0-100:"
ENTRIES = [
    {"instruction": "Name a color.", "input": "", "output": "Blue.", "a": "Red.", "b": "Banana split."},
    {"instruction": "Add 2 and 3.", "input": "", "output": "5", "a": "5", "b": "The answer is six."},
    {"instruction": "Say hi.", "input": "in French", "output": "Bonjour.", "a": "Salut !", "b": "Hello there, friend."},
]


@pytest.fixture(scope="module")
def digits_lm(tiny_digits_dir):
    return load(tiny_digits_dir)


@pytest.fixture(scope="module")
def gpt2_lm(tiny_checkpoint_dir):
    return load(tiny_checkpoint_dir)


def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "short.txt"
    path.write_text(SHORT)
    return path


def brute_force_probs(lm, prompt: str, tree) -> torch.Tensor:
    """(101,) P(score) from plain causal forwards of every full "prompt + score" sequence."""
    ids = lm.encode(lm.chat_prompt(prompt))
    L = len(ids)
    digits = [] if tree.single_token else [i for i in range(lm.tokenizer.vocab_size) if lm.decode([i])[:1].isdigit()]
    probs = torch.zeros(101, dtype=torch.float64)
    for s, seq in enumerate(score_token_ids(lm)):
        with torch.inference_mode():  # one plain causal forward of the whole candidate sequence
            logits = lm.model(torch.tensor([ids + list(seq)]))[0, L - 1 :]  # (len(seq) + 1, V)
        logp = logits.double().log_softmax(-1)
        p_seq = sum(logp[k, t] for k, t in enumerate(seq)).exp()
        probs[s] = p_seq if tree.single_token else p_seq * (1.0 - logp[len(seq), digits].exp().sum())
    return probs


def test_score_tokens_follow_the_assistant_header(digits_lm, gpt2_lm):
    digit_seqs = score_token_ids(digits_lm)
    assert [len(s) for s in digit_seqs] == [1] * 10 + [2] * 90 + [3]
    assert [digits_lm.decode([t]) for t in digit_seqs[85]] == ["8", "5"]
    prompt = digits_lm.chat_prompt("Rate it.")
    assert digits_lm.encode(prompt + "85") == digits_lm.encode(prompt) + list(digit_seqs[85])
    gpt2_seqs = score_token_ids(gpt2_lm)
    assert all(len(s) == 1 for s in gpt2_seqs)
    assert gpt2_lm.decode(list(gpt2_seqs[100])) == "100"
    prompt = gpt2_lm.chat_prompt("Rate it.")
    assert gpt2_lm.encode(prompt + "42") == gpt2_lm.encode(prompt) + list(gpt2_seqs[42])


def test_digit_tree_shape_and_mask(digits_lm):
    tree = build_tree(digits_lm)
    assert not tree.single_token and len(tree.tokens) == 101
    assert torch.bincount(tree.depths).tolist() == [0, 10, 90, 1]
    assert tree.ancestors.sum(1).tolist() == tree.depths.tolist()  # each node sees itself and its ancestors
    assert {digits_lm.decode([int(t)]) for t in tree.digit_tokens} >= set("0123456789")
    idx, positions, mask = tree_inputs([[5, 6, 7], [8, 9]], tree, torch.device("cpu"))
    assert idx.shape == positions.shape == (2, 3 + 101) and mask.shape == (2, 1, 104, 104)
    node_100 = 3 + int(tree.score_nodes[100])
    assert positions[0, node_100] == 3 + 2  # prompt_len + depth - 1
    ancestors = sorted(3 + int(j) for j in tree.ancestors[tree.score_nodes[100]].nonzero())
    assert mask[0, 0, node_100].nonzero().flatten().tolist() == [0, 1, 2, *ancestors]  # prompt + "1", "10", "100"
    assert len(ancestors) == 3
    assert not mask[1, 0, 2 + 101 :, : 2 + 101].any()  # row 1's padding sees nothing real


@pytest.mark.parametrize("which", ["digits_lm", "gpt2_lm"])
def test_tree_equals_brute_force(which, request):
    lm = request.getfixturevalue(which)
    tree = build_tree(lm)
    prompts = ["Reference: Blue.\nAnswer: Red.\nScore:", "Reference: 5\nAnswer: The answer is six, clearly.\nScore:"]
    probs = score_probs(lm, prompts, tree).double()  # (2, 101), both prompts in one batch
    for row, prompt in zip(probs, prompts):
        brute = brute_force_probs(lm, prompt, tree)
        assert torch.allclose(row, brute, rtol=1e-4, atol=0)
        assert (row / row.sum() - brute / brute.sum()).abs().max() <= 1e-5
        assert abs(summarize(row)["score"] - summarize(brute)["score"]) <= 1e-4
        assert summarize(row)["argmax"] == int(brute.argmax())


def test_batch_size_and_reruns_do_not_change_scores(digits_lm, tmp_path):
    template = template_file(tmp_path)
    runs = [score(ENTRIES, ["a", "b"], judge=digits_lm, mode="auto", batch_size=bs, template=template,
                  progress=False)[0] for bs in (1, 4, 1)]
    one, four, again = ([r["score"] for r in recs] for recs in runs)
    assert all(r["mode"] == "logits" and r["score"] is not None for r in runs[0])
    assert max(abs(x - y) for x, y in zip(one, four)) <= 1e-4
    assert one == again  # deterministic: the same run gives identical scores
    for r in runs[0]:
        assert 0 <= r["score"] <= 100 and 0 <= r["argmax"] <= 100 and 0 < r["valid_mass"] <= 1


def test_logits_records_with_single_token_scores(gpt2_lm, tmp_path):
    entries = [ENTRIES[0], {**ENTRIES[1], "id": "q-7"}, ENTRIES[2]]
    records, summary = score(entries, ["a", "a"], judge=gpt2_lm, mode="logits", template=template_file(tmp_path),
                             progress=False)
    assert [r["id"] for r in records] == [0, "q-7", 2] and {r["key"] for r in records} == {"a"}
    assert summary["mode"] == "logits" and summary["keys"]["a"]["n_scored"] == 3
    assert all(r["raw"] is None and r["reason"] is None for r in records)
