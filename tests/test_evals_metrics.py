"""Accuracy, confusion matrix and MCC (scikit-learn's) against counts and formulas worked out by hand."""

import itertools
import math

import pytest

from workshop.evals.metrics import accuracy, confusion_matrix, format_matrix, mcc

LABELS = ["acceptable", "unacceptable"]
# 10 examples: TP=4 (acceptable->acceptable), FN=2, FP=1, TN=3, with "acceptable" as the positive class
Y_TRUE = ["acceptable"] * 6 + ["unacceptable"] * 4
Y_PRED = ["acceptable"] * 4 + ["unacceptable"] * 2 + ["acceptable"] + ["unacceptable"] * 3


def gorodkin_mcc(y_true, y_pred, labels):
    """The K-class MCC written out from its definition (covariances of the one-hot codes)."""
    def cov(a, b):
        n = len(a)
        return sum(sum((x == k) * (y == k) for x, y in zip(a, b)) / n
                   - (sum(x == k for x in a) / n) * (sum(y == k for y in b) / n) for k in labels)
    denominator = math.sqrt(cov(y_true, y_true) * cov(y_pred, y_pred))
    return cov(y_true, y_pred) / denominator if denominator else 0.0


def test_binary_confusion_matrix_and_mcc_by_hand():
    assert confusion_matrix(Y_TRUE, Y_PRED, LABELS) == [[4, 2], [1, 3]]
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.7, abs=1e-12)
    tp, fn, fp, tn = 4, 2, 1, 3
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert mcc(Y_TRUE, Y_PRED) == pytest.approx(expected, abs=1e-12) == pytest.approx(0.4082482904638631, abs=1e-12)


def test_multiclass_matrix_and_mcc_against_brute_force():
    y_true, y_pred = list("aabbbcccca"), list("abbbcccaac")
    matrix = confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    assert matrix == [[sum(t == i and p == j for t, p in zip(y_true, y_pred)) for j in "abc"] for i in "abc"]
    assert mcc(y_true, y_pred) == pytest.approx(gorodkin_mcc(y_true, y_pred, "abc"), abs=1e-12)
    for y_pred in itertools.islice(itertools.product("abc", repeat=10), 0, 50000, 997):  # many prediction patterns
        assert mcc(y_true, list(y_pred)) == pytest.approx(gorodkin_mcc(y_true, y_pred, "abc"), abs=1e-12)


def test_mcc_extremes_and_empty():
    assert mcc(["a"] * 5 + ["b"] * 5, ["a"] * 5 + ["b"] * 5) == pytest.approx(1.0)
    assert mcc(["a"] * 5 + ["b"] * 5, ["b"] * 5 + ["a"] * 5) == pytest.approx(-1.0)
    assert mcc(["a"] * 6 + ["b"] * 4, ["a"] * 10) == 0.0  # always one class: undefined, reported as 0
    assert (mcc([], []), accuracy([], []), confusion_matrix([], [], LABELS)) == (0.0, 0.0, [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix(["a"], [], ["a"])


def test_format_matrix_is_a_markdown_table():
    text = format_matrix([[4, 2], [1, 3]], LABELS)
    assert text.splitlines()[0] == "| true \\ predicted | acceptable | unacceptable |"
    assert text.splitlines()[2] == "| acceptable | 4 | 2 |"
