"""workshop.core.stats against independent references: the t interval, a brute-force binomial sum, scipy."""

import math

import numpy as np
import pytest
from scipy.stats import t, wilcoxon

from workshop.core.stats import bootstrap_ci, format_p, mcnemar, p_is, wilcoxon_p


def test_bootstrap_ci_matches_the_t_interval_and_its_level():
    x = np.random.default_rng(1).normal(50, 10, 4000)
    lo, hi = bootstrap_ci(x)
    t_lo, t_hi = t.interval(0.95, x.size - 1, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(x.size))
    assert lo == pytest.approx(t_lo, abs=0.03) and hi == pytest.approx(t_hi, abs=0.03)  # half-width is ~0.31
    lo90, hi90 = bootstrap_ci(x, confidence=0.90)
    assert (hi90 - lo90) / (hi - lo) == pytest.approx(1.645 / 1.960, rel=0.03)  # the level is what it says
    assert bootstrap_ci(x) == [lo, hi]  # fixed seed: the same data, the same interval


def test_bootstrap_ci_edge_cases():
    assert bootstrap_ci([]) is None
    assert bootstrap_ci([42.0, 42.0, 42.0]) == [42.0, 42.0]
    assert bootstrap_ci([7.0]) == [7.0, 7.0]


def brute_force_mcnemar_p(only_a: int, only_b: int) -> float:
    """Two-sided exact p: twice the smaller binomial tail at 1/2, capped at 1."""
    n, k = only_a + only_b, min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(("only_a", "only_b"), [(0, 13), (2, 13), (5, 5), (1, 0), (7, 19)])
def test_mcnemar_counts_and_exact_p(only_a, only_b):
    a = [True] * only_a + [False] * only_b + [True] * 4 + [False] * 3
    b = [False] * only_a + [True] * only_b + [True] * 4 + [False] * 3
    r = mcnemar(a, b)
    assert (r["only_a"], r["only_b"], r["both"], r["neither"], r["n"]) == (only_a, only_b, 4, 3, len(a))
    assert r["mcnemar_p"] == pytest.approx(brute_force_mcnemar_p(only_a, only_b), abs=1e-12)


def test_mcnemar_without_discordant_pairs_and_bad_lengths():
    assert mcnemar([True, False], [True, False])["mcnemar_p"] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar([True], [True, False])


def test_wilcoxon_p_is_scipys():
    diff = [5.0, 0.0, 20.0, -10.0, 5.0, 20.0, 15.0]
    assert wilcoxon_p(diff) == pytest.approx(wilcoxon(diff).pvalue, abs=1e-12)
    assert wilcoxon_p([0.0, 0.0]) == 1.0 and wilcoxon_p([3.0]) is None


@pytest.mark.parametrize("p, cell, in_text", [(0.052640795, "0.053", "= 0.053"), (1.0, "1", "= 1"),
                                              (2.687e-05, "< 0.0001", "< 0.0001"), (None, "-", "-")])
def test_p_values_read_the_same_in_every_table_and_sentence(p, cell, in_text):
    assert (format_p(p), p_is(p)) == (cell, in_text)
