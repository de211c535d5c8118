"""The verdict's significance level is a promise: p just under 0.05 is a change, p at or just over it is not.

Each case builds the blocks the verdict reads (as the judge summary / MMLU step write them) with
p-values from scipy itself, so the test fails when the level moves (e.g. ALPHA = 0.5 would call
McNemar's p = 0.07 "better") or when a finding stops using it.
"""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from workshop.report.verdict import BETTER, UNCLEAR, WORSE, build_verdict


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """McNemar's exact p: a two-sided binomial test on the discordant pairs (independent of workshop.core.stats)."""
    return binomtest(only_a, only_a + only_b, 0.5).pvalue


def judge_block(only_a: int, only_b: int, p_rouge: float, rouge_diff: float) -> dict:
    both, n = 2, 2 + only_a + only_b + 3
    return {"keys": {"before": {"reference": {"rouge_l": 0.4}}, "after": {"reference": {"rouge_l": 0.4 + rouge_diff}}},
            "paired": {"a": "before", "b": "after", "reference": {
                "exact_match": {"n": n, "both": both, "only_a": only_a, "only_b": only_b,
                                "mcnemar_p": mcnemar_exact(only_a, only_b)},
                "rouge_l": {"n": n, "mean_diff": rouge_diff, "wilcoxon_p": p_rouge}}}}


def test_mcnemar_p_on_either_side_of_005():
    # 1 vs 8 discordant: p = 0.039 (a change); 1 vs 7: p = 0.070 (not one)
    assert mcnemar_exact(1, 8) == pytest.approx(0.0390625)
    assert mcnemar_exact(1, 7) == pytest.approx(0.0703125)
    assert build_verdict({"judge": judge_block(1, 8, 0.5, 0.1)})["findings"][0]["change"] == BETTER
    assert build_verdict({"judge": judge_block(8, 1, 0.5, 0.1)})["findings"][0]["change"] == WORSE
    assert build_verdict({"judge": judge_block(1, 7, 0.5, 0.1)})["findings"][0]["change"] == UNCLEAR


@pytest.mark.parametrize("p, change", [(0.0499, BETTER), (0.05, UNCLEAR), (0.0501, UNCLEAR), (0.3, UNCLEAR)])
def test_wilcoxon_p_just_under_and_over_the_level(p, change):
    findings = build_verdict({"judge": judge_block(3, 3, p, 0.2)})["findings"]
    rouge = next(f for f in findings if f["measure"] == "ROUGE-L")
    assert rouge["change"] == change


@pytest.mark.parametrize("only_a, only_b, change", [(1, 8, BETTER), (1, 7, UNCLEAR), (8, 1, WORSE)])
def test_mmlu_finding_uses_the_same_level(only_a, only_b, change):
    n = 20
    mmlu = {"paired": {"n": n, "both": 5, "only_a": only_a, "only_b": only_b, "mcnemar_p": mcnemar_exact(only_a, only_b),
                       "a": "base", "b": "finetuned", "per_subject": {"x": {}}}}
    verdict = build_verdict({"mmlu": mmlu})
    assert verdict["alpha"] == 0.05
    assert verdict["findings"][0]["change"] == change
    assert verdict["headline"].startswith({BETTER: "Finetuning helped", UNCLEAR: "No clear effect",
                                           WORSE: "Finetuning made it worse"}[change])
