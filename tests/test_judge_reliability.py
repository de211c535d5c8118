"""Judge reliability on responses known right and wrong: AUROC, rank correlations, verdict and sentence."""

import json
import re
import zlib

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from workshop.judge import score
from workshop.judge.reference import exact_match
from workshop.judge.reliability import reliability, verdict
from workshop.core.paths import DATA_DIR

TOL = 1e-9
_PROMPT = re.compile(r"correct output `(.*)`, score the model response `(.*)` on a scale", re.DOTALL)


@pytest.fixture(scope="module")
def known():
    """24 entries of the project's data; `right` is the correct output, `wrong` a wrong answer of the same form."""
    data = json.loads((DATA_DIR / "instructions" / "instruction-data.json").read_text())[:24]
    return [{**e, "right": e["output"], "wrong": data[(i + 5) % 24]["output"],
             "mixed": e["output"].lower() if i % 3 else data[(i + 1) % 24]["output"]} for i, e in enumerate(data)]


def reading_judge(rule):
    """A text judge (generate mode) that reads the reference and the response out of the workshop's prompt."""
    def judge(prompts):
        return [str(rule(*_PROMPT.search(p).groups())) for p in prompts]

    return judge


def test_a_judge_that_knows_is_strong_and_one_that_inverts_is_weak(known):
    _, good = score(known, ["right", "wrong"], judge=reading_judge(lambda ref, r: 90 if exact_match(r, ref) else 10),
                    progress=False)
    rel = good["reliability"]
    assert (rel["n"], rel["n_correct"], rel["auroc_exact_match"], rel["auroc_ci95"]) == (48, 24, 1.0, [1.0, 1.0])
    assert rel["verdict"] == "strong" and rel["valid_mass_median"] is None and rel["n_unparsed"] == 0
    assert rel["sentence"].startswith("This judge separates correct from incorrect answers with AUROC 1.00 "
                                      "(95 % CI 1.00-1.00, 48 answers, 24 correct by exact match): strong")
    assert good["keys"]["right"]["reference"]["exact_match"] == 1.0 and good["keys"]["wrong"]["reference"]["exact_match"] == 0.0
    assert good["paired"]["reference"]["exact_match"]["only_a"] == 24 and good["paired"]["mcnemar_p"] < 1e-6
    _, bad = score(known, ["right", "wrong"], judge=reading_judge(lambda ref, r: 10 if exact_match(r, ref) else 90),
                   progress=False)
    assert bad["reliability"]["auroc_exact_match"] == 0.0 and bad["reliability"]["verdict"] == "weak"
    assert "weak — treat its scores with care, or use a stronger judge" in bad["reliability"]["sentence"]


def test_figures_equal_scikit_learn_and_scipy(known):
    def noisy(ref, response):  # closeness to the reference plus a length bonus and noise: an imperfect judge
        return int(40 * (ref.lower() == response.lower()) + 3 * len(response.split()) + zlib.crc32(response.encode()) % 30)

    records, summary = score(known, ["right", "wrong", "mixed"], judge=reading_judge(noisy), progress=False)
    rel = summary["reliability"]
    s = np.array([r["score"] for r in records], dtype=float)
    em = np.array([r["exact_match"] for r in records])
    assert rel["auroc_exact_match"] == pytest.approx(roc_auc_score(em, s), abs=TOL)
    assert rel["spearman_rouge_l"] == pytest.approx(spearmanr(s, [r["rouge_l"] for r in records]).statistic, abs=TOL)
    assert rel["spearman_length"] == pytest.approx(spearmanr(s, [r["length"] for r in records]).statistic, abs=TOL)
    assert rel["auroc_ci95"][0] <= rel["auroc_exact_match"] <= rel["auroc_ci95"][1]
    assert rel["verdict"] == verdict(rel["auroc_exact_match"], rel["auroc_ci95"])
    assert "paired" not in summary  # three keys: no pairing


def test_verdict_thresholds():
    assert verdict(None, None) is None
    assert verdict(0.95, [0.80, 1.0]) == "strong" and verdict(0.90, [0.75, 0.99]) == "strong"
    assert verdict(0.95, [0.74, 1.0]) == "usable" and verdict(0.75, [0.51, 0.9]) == "usable"
    assert verdict(0.80, [0.50, 0.95]) == "weak"  # cannot be told apart from chance
    assert verdict(0.74, [0.60, 0.85]) == "weak" and verdict(0.69, [0.52, 0.84]) == "weak"


def test_valid_mass_unparsed_and_one_class_only():
    records = [{"score": s, "exact_match": False, "rouge_l": 0.1 * i, "length": i, "valid_mass": m}
               for i, (s, m) in enumerate([(10.0, 0.003), (20.0, 0.008), (None, 0.0), (40.0, 0.005)])]
    rel = reliability(records)
    assert rel["valid_mass_median"] == pytest.approx(np.median([0.003, 0.008, 0.0, 0.005]), abs=TOL)
    assert rel["n_unparsed"] == 1 and rel["auroc_exact_match"] is None and rel["verdict"] is None
    assert rel["spearman_length"] == pytest.approx(1.0)
    assert "all 3 answers with a reference are wrong by exact match" in rel["sentence"]
    assert "only 0.4 % of its probability on a valid answer" in rel["sentence"]
    assert "1 of 4 answers could not be read as a score" in rel["sentence"]
