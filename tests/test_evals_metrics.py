"""Accuracy, confusion matrix and MCC on constructed cases (checked by hand and against scikit-learn)."""

import math

import pytest

from workshop.evals.metrics import accuracy_from_matrix, confusion_matrix, format_matrix, mcc_from_matrix

LABELS = ["acceptable", "unacceptable"]
# 10 examples: TP=4 (acceptable->acceptable), FN=2, FP=1, TN=3, with "acceptable" as the positive class
Y_TRUE = ["acceptable"] * 6 + ["unacceptable"] * 4
Y_PRED = ["acceptable"] * 4 + ["unacceptable"] * 2 + ["acceptable"] + ["unacceptable"] * 3


def test_binary_confusion_matrix_and_mcc_by_hand():
    matrix = confusion_matrix(Y_TRUE, Y_PRED, LABELS)
    assert matrix == [[4, 2], [1, 3]]
    assert accuracy_from_matrix(matrix) == pytest.approx(0.7)
    tp, fn, fp, tn = 4, 2, 1, 3
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert mcc_from_matrix(matrix) == pytest.approx(expected)
    assert mcc_from_matrix(matrix) == pytest.approx(0.4082482904638631)


def test_mcc_matches_sklearn_binary_and_multiclass():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    assert mcc_from_matrix(confusion_matrix(Y_TRUE, Y_PRED, LABELS)) == pytest.approx(
        sklearn_metrics.matthews_corrcoef(Y_TRUE, Y_PRED)
    )
    y_true = list("aabbbcccca")
    y_pred = list("abbbcccaac")
    matrix = confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    assert matrix == sklearn_metrics.confusion_matrix(y_true, y_pred, labels=["a", "b", "c"]).tolist()
    assert mcc_from_matrix(matrix) == pytest.approx(sklearn_metrics.matthews_corrcoef(y_true, y_pred))


def test_mcc_extremes():
    assert mcc_from_matrix([[5, 0], [0, 5]]) == pytest.approx(1.0)
    assert mcc_from_matrix([[0, 5], [5, 0]]) == pytest.approx(-1.0)
    assert mcc_from_matrix([[6, 0], [4, 0]]) == 0.0  # always one class: undefined, reported as 0


def test_format_matrix_is_a_markdown_table():
    text = format_matrix([[4, 2], [1, 3]], LABELS)
    assert text.splitlines()[0] == "| true \\ predicted | acceptable | unacceptable |"
    assert text.splitlines()[2] == "| acceptable | 4 | 2 |"
