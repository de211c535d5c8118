"""Generate mode: greedy answers parsed, one stricter retry, unparseable items kept with raw text and reason."""

import shutil
from pathlib import Path

import pytest
import torch

from workshop.core.errors import WorkshopError
from workshop.judge import score
from workshop.judge.judges import ModelJudge, TextJudge, as_judge
from workshop.judge.generate_mode import RETRY_INSTRUCTION, generate_scores, retry_prompt
from workshop.models.llm import load
from workshop.models.testing import tiny_checkpoint

from test_judge_fixtures import one_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


ENTRIES = [
    {"instruction": "Name a color.", "input": "", "output": "Blue.", "before": "Red.", "after": "Blue."},
    {"instruction": "Add 2 and 3.", "input": "", "output": "5", "before": "6", "after": "5"},
    {"instruction": "Say hi.", "input": "in French", "output": "Bonjour.", "before": "Hello.", "after": "Salut."},
]


def scripted_judge(base: Path, out: Path, answer: str) -> Path:
    """A copy of a tiny checkpoint rewired to answer `answer` to any chat prompt, then stop.

    The attention and MLP outputs are zeroed, so the next token depends on the current token
    only; the LM head then maps the prompt's last token to the answer's first token, each
    answer token to the next, and the last one to end-of-text.
    """
    shutil.copytree(base, out)
    lm = load(out)
    chain = [lm.encode(lm.chat_prompt("x"))[-1], *lm.encode(answer), lm.tokenizer.eos_id]
    state = torch.load(out / "lit_model.pth", weights_only=True)
    for name in state:
        if name.endswith(("attn.proj.weight", "mlp.proj.weight")):
            state[name].zero_()
    wte, head = state["transformer.wte.weight"], state["lm_head.weight"]
    head.zero_()
    for src, dst in zip(chain, chain[1:]):
        head[dst] = 5.0 * wte[src] / wte[src].norm()
    torch.save(state, out / "lit_model.pth")
    return out


@pytest.fixture(scope="module", params=["gpt2", "digits"])
def says_85(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"scripted-{request.param}")
    return load(scripted_judge(tiny_checkpoint(root / "base", tokenizer=request.param), root / "judge", "85"))


def test_tiny_judge_both_modes_score_every_item(says_85):
    gen, gen_summary = score(ENTRIES, ["before", "after"], judge=says_85, mode="generate", progress=False)
    assert [r["score"] for r in gen] == [85] * 6
    assert all(r["raw"] == "85" and r["reason"] is None and r["mode"] == "generate" for r in gen)
    assert gen_summary["keys"]["before"]["n_scored"] == 3 and gen_summary["paired"]["ties"] == 3
    logits, summary = score(ENTRIES, ["before", "after"], judge=says_85, mode="auto", progress=False)
    assert summary["mode"] == "logits"
    for r in logits:
        assert r["argmax"] == 85 and r["valid_mass"] > 0.99 and r["score"] == pytest.approx(85, abs=0.1)


def test_retry_recovers_an_unparseable_answer():
    seen = []

    def judge(prompts):
        seen.append(list(prompts))
        return ["70" if RETRY_INSTRUCTION in p else ("I like it." if "odd" in p else "40") for p in prompts]

    results = generate_scores(judge, ["even prompt", "odd prompt"])
    assert results[0] == {"score": 40, "raw": "40", "reason": None}
    assert results[1] == {"score": 70, "raw": "I like it.\n[retry] 70", "reason": None}
    assert seen[1] == [retry_prompt("odd prompt", "I like it.")]  # only the failed item is retried
    assert seen[1][0].startswith("odd prompt\n\n") and "`I like it.`" in seen[1][0]


def test_still_unparseable_is_kept_with_raw_and_reason():
    results = generate_scores(lambda prompts: ["8.5/10" if RETRY_INSTRUCTION in p else "" for p in prompts], ["p"])
    assert results == [
        {
            "score": None,
            "raw": "\n[retry] 8.5/10",
            "reason": "empty response; after the retry: score on a 0-10 scale (8.5/10); the prompt asks for 0-100",
        }
    ]


def test_text_judge_uses_generate_mode_and_keeps_failures(tmp_path):
    def judge(prompts):
        return ["Score: 90" if "Blue." in p.split("score the model response")[1] else "no idea" for p in prompts]

    records, summary = score(ENTRIES, ["after"], judge=judge, out_dir=tmp_path, progress=False)
    assert summary["mode"] == "generate"
    assert [r["score"] for r in records] == [90, None, None]
    assert records[1]["raw"] == "no idea\n[retry] no idea" and "no number" in records[1]["reason"]
    assert summary["keys"]["after"] == {**summary["keys"]["after"], "n": 3, "n_scored": 1, "mean": 90.0}
    assert (tmp_path / "scores.jsonl").read_text().count("\n") == 3
    with pytest.raises(WorkshopError, match="--mode logits needs a local LitGPT judge"):
        score(ENTRIES, ["after"], judge=judge, mode="logits", progress=False)


def test_a_fully_cached_rerun_says_it_reused_the_work(tmp_path, capsys):
    asked = []

    def judge(prompts):
        asked.extend(prompts)
        return ["85"] * len(prompts)

    first, _ = score(ENTRIES, ["before", "after"], judge=judge, out_dir=tmp_path)
    n = len(asked)
    capsys.readouterr()
    again, _ = score(ENTRIES, ["before", "after"], judge=judge, out_dir=tmp_path)
    assert again == first and len(asked) == n  # nothing judged twice
    err = capsys.readouterr().err
    assert f"judge (generate): all {n} judgements reused from {tmp_path / '.cache' / 'judge-cache.jsonl'}" in err
    assert "0items" not in err


def test_as_judge_names_each_kind_without_opening_it(tmp_path):
    def answers(prompts):
        return ["50"] * len(prompts)

    text = as_judge(answers)
    assert isinstance(text, TextJudge) and as_judge(text) is text and text.name.endswith("answers")
    assert text.resolve_mode("auto") == "generate" and text.checkpoint() is None
    with pytest.raises(WorkshopError, match="--mode logits needs a local LitGPT judge checkpoint"):
        text.resolve_mode("logits")
    missing = tmp_path / "no-judge"
    model = as_judge(str(missing))
    assert isinstance(model, ModelJudge) and model.name == str(missing)
    assert model.resolve_mode("auto") == "logits"  # a checkpoint reads probabilities in-process; nothing loaded yet
    with pytest.raises(WorkshopError, match=f"no checkpoint at {missing}"):
        model.model()
    with pytest.raises(WorkshopError, match="--mode 'best' is not known"):
        model.resolve_mode("best")
