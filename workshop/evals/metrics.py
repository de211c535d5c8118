"""Classification metrics from scikit-learn: accuracy, confusion matrix, Matthews correlation (MCC).

MCC is scikit-learn's multi-class form (Gorodkin's R_K), for two classes the familiar
(TP*TN - FP*FN) / sqrt(...); CoLA reports it because it is fair to skewed labels. It is 0.0
when undefined (a model that always answers the same class).
"""

from __future__ import annotations

from typing import Sequence


def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Counts [i][j] of examples whose true label is labels[i] and predicted label is labels[j]."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    if not y_true:
        return [[0] * len(labels) for _ in labels]
    return sk_confusion_matrix(list(y_true), list(y_pred), labels=list(labels)).tolist()


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Share of predictions equal to the truth (0.0 when there are none)."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(list(y_true), list(y_pred))) if len(y_true) else 0.0


def mcc(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Matthews correlation coefficient; 0.0 when undefined or when there are no examples."""
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(list(y_true), list(y_pred))) if len(y_true) else 0.0


def format_matrix(matrix: list[list[int]], labels: Sequence[str]) -> str:
    """The confusion matrix as a Markdown table (rows: true label, columns: predicted)."""
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(str(n) for n in row) + " |" for label, row in zip(labels, matrix)]
    return "\n".join(lines)
