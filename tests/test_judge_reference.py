"""Reference metrics: exact match after normalising, SQuAD token F1, ROUGE-L, paired McNemar and Wilcoxon."""

import re

import numpy as np
import pytest
from scipy.stats import binomtest, wilcoxon

from workshop.judge.reference import (exact_match, length, normalize, paired_reference, reference_fields,
                                      reference_stats, rouge_l, token_f1)


@pytest.mark.parametrize("response, reference, expected", [
    ("There are 10 coins in 2 boxes.", "There are 10 coins in 2 boxes.", True),
    ("  there are 10   coins in 2 boxes ", "There are 10 coins in 2 boxes.", True),  # case, spaces, final "."
    ("RED MOON!", "red moon", True),
    ('The opposite of "short" is "long".', 'The opposite of "short" is "long"', True),
    ("12 liters is 1200 milliliters.", "12 liters is 12000 milliliters.", False),
    ("11, 50, 75, 95", "11 50 75 95", False),  # inner punctuation counts
    ("12 liters = 12 * 1000 = 12000 milliliters", "12 liters is 12000 milliliters.", False),
])
def test_exact_match_normalises_case_whitespace_final_punctuation(response, reference, expected):
    assert exact_match(response, reference) is expected
    assert normalize("A  B.\n") == "a b"


@pytest.mark.parametrize("response, reference, expected", [
    ("the cat sat", "cat sat down", 0.8),  # "the" dropped: P = 2/2, R = 2/3 -> 2 * 1 * 2/3 / (5/3) = 0.8
    ("Mia has 12 marbles.", "Mia has 12 marbles", 1.0),
    ("Mia has 4 pencils", "Mia has 19 pencils.", 0.75),  # 3 of 4 tokens both ways
    ("sun sun cat", "sun cat red", 2 / 3),  # bag of words: one "sun" matches, P = R = 2/3
    ("", "", 1.0),
    ("a the", "cat", 0.0),  # only articles: empty after normalising
    ("dog", "cat", 0.0),
])
def test_token_f1_is_squads(response, reference, expected):
    assert token_f1(response, reference) == pytest.approx(expected, abs=1e-12)


def lcs_f1(response: str, reference: str) -> float:
    """ROUGE-L F1 by brute force: longest common subsequence of lower-case alphanumeric tokens."""
    a, b = (re.sub(r"[^a-z0-9]+", " ", s.lower()).split() for s in (response, reference))
    table = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1, j + 1] = table[i, j] + 1 if x == y else max(table[i, j + 1], table[i + 1, j])
    lcs = table[-1, -1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


@pytest.mark.parametrize("response, reference", [
    ("12 liters = 12 * 1000 = 12000 milliliters", "12 liters is 12000 milliliters."),
    ("The numbers are 64, 43, 78, 81.", "41, 43, 64, 78, 81"),
    ("Sam has 12 shells, and each shell is 14 more.", "Sam has 26 shells."),
    ("nothing in common", "Mia has 19 pencils."),
])
def test_rouge_l_is_the_lcs_f_measure(response, reference):
    assert rouge_l(response, reference) == pytest.approx(lcs_f1(response, reference), abs=1e-12)


def test_fields_and_stats_with_and_without_reference():
    assert reference_fields("Mia has 12 marbles", "Mia has 12 marbles.") == {
        "exact_match": True, "token_f1": 1.0, "rouge_l": 1.0, "length": 4}
    assert reference_fields("Mia has", None) == {"exact_match": None, "token_f1": None, "rouge_l": None, "length": 2}
    assert length("  a  b\nc ") == 3
    records = [{"exact_match": True, "token_f1": 1.0, "rouge_l": 1.0}, {"exact_match": False, "token_f1": 0.5,
               "rouge_l": 0.25}, {"exact_match": None, "token_f1": None, "rouge_l": None}]
    stats = reference_stats(records, "output")
    assert stats == {"exact_match": 0.5, "token_f1": 0.75, "rouge_l": 0.625, "n": 2,
                     "note": "1 of 3 entries have no 'output': left out of these means"}
    empty = reference_stats(records[2:], "gold")
    assert empty["n"] == 0 and empty["exact_match"] is None and "'gold'" in empty["note"]


def test_paired_reference_is_mcnemar_and_wilcoxon():
    rng = np.random.default_rng(3)
    first = [{"exact_match": bool(x), "rouge_l": float(r)} for x, r in zip(rng.random(30) < 0.2, rng.random(30))]
    second = [{"exact_match": bool(x), "rouge_l": float(r)} for x, r in zip(rng.random(30) < 0.7, rng.random(30))]
    second[4] = {"exact_match": None, "rouge_l": None}  # no reference: left out of both tests
    keep = [i for i in range(30) if i != 4]
    a = np.array([first[i]["exact_match"] for i in keep])
    b = np.array([second[i]["exact_match"] for i in keep])
    got = paired_reference(first, second)
    em = got["exact_match"]
    assert (em["n"], em["both"], em["only_a"], em["only_b"], em["neither"]) == (
        29, int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b)), int(np.sum(~a & ~b)))
    assert em["mcnemar_p"] == pytest.approx(binomtest(em["only_b"], em["only_a"] + em["only_b"], 0.5).pvalue, abs=1e-12)
    diff = np.array([second[i]["rouge_l"] - first[i]["rouge_l"] for i in keep])
    assert got["rouge_l"]["n"] == 29 and got["rouge_l"]["mean_diff"] == pytest.approx(diff.mean(), abs=1e-12)
    assert got["rouge_l"]["wilcoxon_p"] == pytest.approx(wilcoxon(diff).pvalue, abs=1e-12)
    nothing = paired_reference([{"exact_match": None, "rouge_l": None}], [{"exact_match": True, "rouge_l": 1.0}])
    assert nothing["exact_match"]["n"] == 0 and nothing["exact_match"]["mcnemar_p"] is None
    assert nothing["rouge_l"] == {"n": 0, "mean_diff": None, "wilcoxon_p": None}
