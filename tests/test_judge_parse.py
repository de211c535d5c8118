"""parse_score: what judges really write is read, anything ambiguous is refused with a reason."""

import pytest

from workshop.judge import parse_score
from workshop.judge.parse import parse_score_reason


@pytest.mark.parametrize(
    "text, expected",
    [
        ("85", 85),
        (" 85.", 85),
        ("85\n", 85),
        ("Score: 85", 85),
        ("score:85", 85),
        ("85/100", 85),
        ("85 / 100", 85),
        ("Rating: 85/100.", 85),
        ("**85**", 85),
        ("`85`", 85),
        ('"85"', 85),
        ("I would rate this response 85 out of 100.", 85),
        ("Score: 85 (out of 100)", 85),
        ("On a scale from 0 to 100, I would give it 85.", 85),
        ("On a scale of 1-100: 70", 70),
        ("85%", 85),
        ("85.0", 85),
        ("Score: 85\n\nFinal score: 85", 85),
        ("0", 0),
        ("0/100", 0),
        ("100", 100),
        ("100/100", 100),
        ("The response is perfect: 100", 100),
        ("### Score\n92", 92),
    ],
)
def test_accepts_what_judges_write(text, expected):
    assert parse_score(text) == expected
    assert parse_score_reason(text) == (expected, None)


@pytest.mark.parametrize(
    "text, reason_start",
    [
        ("", "empty response"),
        ("   \n", "empty response"),
        (None, "empty response"),
        ("I cannot score this response.", "no number"),
        ("85 or 90", "ambiguous"),
        ("The score is 85-90", "ambiguous"),
        ("85/100 but really 90", "ambiguous"),
        ("Score: 85. The response lists 3 items.", "ambiguous"),
        ("8.5/10", "score on a 0-10 scale"),
        ("I give this a score of 7/10.", "score on a 0-10 scale"),
        ("10/10", "score on a 0-10 scale"),
        ("150", "out of range"),
        ("101", "out of range"),
        ("-3", "out of range"),
        ("Score: -3", "out of range"),
        ("85.5", "not an integer"),
    ],
)
def test_refuses_ambiguous_or_out_of_range(text, reason_start):
    score, reason = parse_score_reason(text)
    assert score is None
    assert parse_score(text) is None
    assert reason.startswith(reason_start), reason


def test_ten_point_scale_only_with_explicit_rule():
    assert parse_score("8.5/10") is None
    assert parse_score("8.5/10", rescale_10=True) == 85
    assert parse_score("7 out of 10", rescale_10=True) == 70
    assert parse_score("85/100", rescale_10=True) == 85


def test_reason_names_the_numbers():
    assert parse_score_reason("Either 60 or 75.")[1] == "ambiguous: several different numbers (60, 75)"
    assert parse_score_reason("150")[1] == "out of range (150); scores are 0..100"
