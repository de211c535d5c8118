"""Pairwise judging: both orders, the flip and combination (brute force), exact mirroring, cache, CLI."""

import itertools
import json
import re

import numpy as np
import pytest
import torch

from workshop.cli.main import main
from workshop.models.engine import tail_logits
from workshop.judge import pairwise
from workshop.judge.cache import CACHE_FILE
from workshop.judge.choice import label_token_ids, pair_label_probs
from workshop.judge.pairwise import combine, pairwise_summary
from workshop.judge.parse import parse_choice
from workshop.judge.reference import exact_match
from workshop.models.llm import load

from test_judge_fixtures import one_thread, tiny_digits_dir  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("one_thread")
CHOICES = ("A", "B", "tie", None)


def written(choice):
    return {"choice": choice, "raw": str(choice), "reason": None if choice else "names neither A nor B"}


@pytest.mark.parametrize("first, second", itertools.product(CHOICES, CHOICES))
def test_flip_and_combination_brute_force_generate(first, second):
    row = combine(written(first), written(second), "x", "y")
    # order 1 shows x as A; order 2 shows y as A. Who did each order pick, in key names?
    picked = [{"A": "x", "B": "y", "tie": "tie"}.get(first), {"A": "y", "B": "x", "tie": "tie"}.get(second)]
    assert row["verdicts"] == picked
    share_x = [{"A": 1.0, "B": 0.0, "tie": 0.5}.get(first), {"A": 0.0, "B": 1.0, "tie": 0.5}.get(second)]
    assert row["preference_a"] == share_x
    assert row["preference_b"] == [None if s is None else 1 - s for s in share_x]
    if None in picked:
        assert row["winner"] is None and row["orders_agree"] is None and row["combined_a"] is None
    else:
        assert row["orders_agree"] == (picked[0] == picked[1])
        assert row["winner"] == (picked[0] if picked[0] == picked[1] else "tie")
        assert row["combined_a"] == pytest.approx(sum(share_x) / 2)
    assert row["first_shown_won"] == [None if c in (None, "tie") else c == "A" for c in (first, second)]


def test_flip_and_combination_brute_force_logits():
    rng = np.random.default_rng(0)
    for p in rng.random((200, 4)) * 1e-3:  # P(A), P(B) in order 1, then in order 2
        ab = {"choice": "A" if p[0] > p[1] else "B", "p_a": p[0], "p_b": p[1]}
        ba = {"choice": "A" if p[2] > p[3] else "B", "p_a": p[2], "p_b": p[3]}
        row = combine(ab, ba, "x", "y")
        x_first, x_second = p[0] / (p[0] + p[1]), p[3] / (p[2] + p[3])  # x is A in order 1 and B in order 2
        assert row["preference_a"] == pytest.approx([x_first, x_second], abs=1e-12)
        assert row["combined_a"] == pytest.approx((x_first + x_second) / 2, abs=1e-12)
        assert row["combined_a"] + row["combined_b"] == pytest.approx(1.0, abs=1e-12)
        x_wins = [x_first > 0.5, x_second > 0.5]
        expected = ("x" if x_wins[0] else "y") if x_wins[0] == x_wins[1] else "tie"
        assert row["winner"] == expected and row["orders_agree"] == (x_wins[0] == x_wins[1])


def test_summary_counts_brute_force():
    rows = []
    rng = np.random.default_rng(2)
    for i in range(60):
        c1, c2 = rng.choice(["A", "B", "tie"], 2)
        rows.append({**combine(written(c1), written(c2), "x", "y"), "length_a": int(rng.integers(1, 4)),
                     "length_b": int(rng.integers(1, 4)), "exact_match_a": bool(rng.random() < 0.5),
                     "exact_match_b": bool(rng.random() < 0.5)})
    s = pairwise_summary(rows, "x", "y")
    winners = [r["winner"] for r in rows]
    assert (s["wins_a"], s["wins_b"], s["ties"], s["n"]) == (winners.count("x"), winners.count("y"),
                                                             winners.count("tie"), 60)
    assert s["win_rate_b"] == pytest.approx((winners.count("y") + winners.count("tie") / 2) / 60, abs=1e-12)
    assert s["position_consistency"] == pytest.approx(np.mean([r["verdicts"][0] == r["verdicts"][1] for r in rows]))
    firsts = [f for r in rows for f in r["first_shown_won"] if f is not None]
    assert s["first_position_rate"] == pytest.approx(sum(firsts) / len(firsts)) and s["n_first_position"] == len(firsts)
    longer = [(r["winner"] == "x") == (r["length_a"] > r["length_b"]) for r in rows
              if r["winner"] in ("x", "y") and r["length_a"] != r["length_b"]]
    assert s["longer_wins_rate"] == pytest.approx(np.mean(longer)) and s["n_longer"] == len(longer)
    one = [r for r in rows if r["exact_match_a"] != r["exact_match_b"]]
    right = [1.0 if r["winner"] == ("x" if r["exact_match_a"] else "y") else 0.5 if r["winner"] == "tie" else 0.0
             for r in one]
    assert s["correct_wins_rate"] == pytest.approx(np.mean(right)) and s["n_one_correct"] == len(one)
    assert s["ci95"][0] <= s["win_rate_b"] <= s["ci95"][1]


def test_parse_choice():
    for text, expected in [("A", "A"), ("B.", "B"), ("**B**", "B"), ("Response A", "A"), ("The better response is B.", "B"),
                           ("Response A is better than response B.", "A"), ("Tie", "tie"), ("Both are equally good", "tie")]:
        assert parse_choice(text) == (expected, None), text
    assert parse_choice("A good answer would be B")[1].startswith("ambiguous")
    assert parse_choice("I cannot decide.") == (None, "names neither A nor B") and parse_choice("") == (None, "empty response")


def test_shared_prefix_forward_equals_one_forward_per_prompt(tiny_digits_dir):
    lm = load(tiny_digits_dir)
    labels = label_token_ids(lm)
    assert [lm.decode([t]) for t in labels] == ["A", "B"]
    pairs = [("Which is better? A: `cat` B: `a dog` Answer", "Which is better? A: `a dog` B: `cat` Answer"),
             ("Short. A: x B: yy", "Short. A: yy B: x"), ("Same", "Same")]
    got = pair_label_probs(lm, pairs, labels)  # (3, 2, 2)
    for b, pair in enumerate(pairs):
        for o, prompt in enumerate(pair):
            logits = tail_logits(lm.model, [lm.encode(lm.chat_prompt(prompt))], [1])[0][0]
            assert torch.allclose(got[b, o], logits.softmax(-1)[list(labels)], rtol=1e-4, atol=0)


def entries(n):
    return [{"instruction": f"Add {i} and {i + 1}.", "input": "", "output": f"The sum is {2 * i + 1}.",
             "before": f"The sum is {2 * i + 1}." if i % 2 else "no idea", "after": f"The sum is {2 * i + 1}"
             if i % 3 else f"It is {i} or so."} for i in range(n)]


def test_swapping_keys_mirrors_exactly_and_the_cache_resumes(tmp_path, tiny_digits_dir, capsys):
    data = tmp_path / "responses.json"
    data.write_text(json.dumps(entries(8)))
    runs = {}
    for a, b in (("before", "after"), ("after", "before")):
        out = tmp_path / f"{a}-{b}"
        assert main(["judge", "--pairwise", "--data", str(data), "--key", a, "--key", b, "--judge",
                     str(tiny_digits_dir), "--out", str(out), "--batch-size", "3", "--no-progress"]) == 0
        runs[a] = (json.loads((out / "summary.json").read_text()),
                   [json.loads(line) for line in (out / "pairwise.jsonl").read_text().splitlines()], out)
    assert "position" in capsys.readouterr().out
    (s1, rows1, out1), (s2, rows2, _) = runs["before"], runs["after"]
    p1, p2 = s1["pairwise"], s2["pairwise"]
    assert (p1["wins_a"], p1["wins_b"], p1["ties"]) == (p2["wins_b"], p2["wins_a"], p2["ties"])
    for key in ("n", "position_consistency", "first_position_rate", "longer_wins_rate", "correct_wins_rate"):
        assert p1[key] == p2[key]
    assert p1["win_rate_b"] == pytest.approx(1 - p2["win_rate_b"], abs=1e-12)
    for r1, r2 in zip(rows1, rows2):
        assert r1["winner"] == r2["winner"] and r1["verdicts"] == r2["verdicts"][::-1]
        assert r1["preference_a"] == r2["preference_b"][::-1] and r1["combined_a"] == r2["combined_b"]
    assert s1["keys"]["after"]["mean"] == pytest.approx(s2["keys"]["after"]["mean"], abs=1e-9)
    assert s1["keys"]["before"]["reference"]["exact_match"] == 0.5 and s1["paired"]["reference"]["exact_match"]["n"] == 8
    assert {p.name for p in out1.iterdir()} >= {"pairwise.jsonl", "pairwise.png", "summary.json", "summary.md", "scores.jsonl"}

    cache = out1 / CACHE_FILE
    before = cache.read_text()
    assert len(before.splitlines()) == 8  # one record per entry (both orders)
    again, summary = pairwise(entries(8), ["before", "after"], judge=str(tiny_digits_dir), out_dir=out1, progress=False)
    assert cache.read_text() == before and summary["pairwise"] == p1  # nothing re-judged, same figures
    more, _ = pairwise(entries(10), ["before", "after"], judge=str(tiny_digits_dir), out_dir=out1, progress=False)
    lines = cache.read_text().splitlines(keepends=True)
    assert "".join(lines[:8]) == before and len(lines) == 10 and more[:8] == again


def test_generate_mode_position_bias_and_a_judge_that_knows():
    always_a = lambda prompts: ["A"] * len(prompts)  # noqa: E731
    rows, summary = pairwise(entries(6), ["before", "after"], judge=always_a, progress=False)
    p = summary["pairwise"]
    assert (p["ties"], p["position_consistency"], p["first_position_rate"], p["win_rate_b"]) == (6, 0.0, 1.0, 0.5)
    assert summary["mode"] == "generate" and all(r["raw"] == ["A", "A"] for r in rows)

    def knows(prompts):
        out = []
        for prompt in prompts:
            ref, a, b = re.search(r"correct output `(.*)`, which.*Response A: `(.*)` Response B: `(.*)` Respond",
                                  prompt).groups()
            right_a, right_b = exact_match(a, ref), exact_match(b, ref)
            out.append("A" if right_a and not right_b else "B" if right_b and not right_a else "tie")
        return out

    _, summary = pairwise(entries(6), ["before", "after"], judge=knows, progress=False)
    p = summary["pairwise"]
    assert p["position_consistency"] == 1.0 and p["correct_wins_rate"] == 1.0 and p["n_one_correct"] == 3
    # scores are 100 x the combined preference: 100 / 0 where one is right, 50 / 50 where both or neither are
    assert summary["reliability"]["auroc_exact_match"] == pytest.approx(31 / 35, abs=1e-12)
