"""Classification metrics without extra dependencies: accuracy, confusion matrix, Matthews correlation.

MCC is the multi-class form (Gorodkin's R_K, as in scikit-learn), which for two classes is
the familiar (TP*TN - FP*FN) / sqrt(...); CoLA reports it because it is fair to skewed labels.
"""

from __future__ import annotations

import math
from typing import Sequence


def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Counts [i][j] of examples whose true label is labels[i] and predicted label is labels[j]."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t]][index[p]] += 1
    return matrix


def accuracy_from_matrix(matrix: list[list[int]]) -> float:
    """Share of examples on the diagonal (0.0 for an empty matrix)."""
    total = sum(map(sum, matrix))
    return sum(matrix[i][i] for i in range(len(matrix))) / total if total else 0.0


def mcc_from_matrix(matrix: list[list[int]]) -> float:
    """Matthews correlation coefficient of a K x K confusion matrix; 0.0 when undefined."""
    k = len(matrix)
    s = sum(map(sum, matrix))  # all examples
    c = sum(matrix[i][i] for i in range(k))  # correct ones
    t = [sum(matrix[i]) for i in range(k)]  # true count per class
    p = [sum(matrix[i][j] for i in range(k)) for j in range(k)]  # predicted count per class
    numerator = c * s - sum(pk * tk for pk, tk in zip(p, t))
    denominator = math.sqrt(s * s - sum(pk * pk for pk in p)) * math.sqrt(s * s - sum(tk * tk for tk in t))
    return numerator / denominator if denominator else 0.0


def format_matrix(matrix: list[list[int]], labels: Sequence[str]) -> str:
    """The confusion matrix as a Markdown table (rows: true label, columns: predicted)."""
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(str(n) for n in row) + " |" for label, row in zip(labels, matrix)]
    return "\n".join(lines)
