"""`workshop judge agreement`: every statistic equals scipy's / scikit-learn's, CIs equal scipy's bootstrap."""

import json

import numpy as np
import pytest
from scipy.stats import bootstrap, kendalltau, pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from workshop.cli.main import main
from workshop.judge import agreement
from workshop.judge.agreement import agreement_file, auroc

TOL = 1e-9


def scipy_ci(samples, statistic, paired, n_boot):
    """The reference interval: scipy's own bootstrap with the library statistic, the same seed and resamples."""
    res = bootstrap(samples, statistic, paired=paired, vectorized=False, n_resamples=n_boot,
                    method="percentile", rng=np.random.default_rng(0))
    return [res.confidence_interval.low, res.confidence_interval.high]


@pytest.fixture(scope="module")
def judged():
    """40 judge scores 0..100 against human ratings 1..5 (ties on both sides)."""
    rng = np.random.default_rng(7)
    labels = rng.integers(1, 6, 40).astype(float)
    scores = np.clip(np.round(labels * 15 + rng.normal(0, 18, 40)), 0, 100)
    return scores, labels


def test_correlations_and_their_cis_equal_scipy(judged):
    scores, labels = judged
    got = agreement(scores, labels, n_boot=300)
    for name, test in (("pearson", pearsonr), ("spearman", spearmanr), ("kendall", kendalltau)):
        ref = test(scores, labels)
        assert got[name]["value"] == pytest.approx(ref.statistic, abs=TOL)
        assert got[name]["p"] == pytest.approx(ref.pvalue, abs=TOL)
        ci = scipy_ci((scores, labels), lambda x, y: test(x, y).statistic, True, 300)
        assert got[name]["ci95"] == pytest.approx(ci, abs=TOL)
    assert got["n"] == 40 and got["label_levels"] == 5 and got["auroc"] is None  # five levels: not binary
    assert got["kappa"]["value"] is None and "categories" in got["kappa"]["note"]  # 0..100 is not the 1..5 scale


def test_auroc_with_binary_labels_equals_scikit_learn_and_stratified_scipy(judged):
    scores, labels = judged
    good = (labels >= 4).astype(float)
    got = agreement(scores, good, n_boot=50)["auroc"]
    assert got["auroc"] == pytest.approx(roc_auc_score(good, scores), abs=TOL)
    assert (got["n_pos"], got["n_neg"]) == (int(good.sum()), int((1 - good).sum()))
    small = auroc(scores, good.astype(bool), n_boot=400)
    pos, neg = scores[good == 1], scores[good == 0]
    ref = scipy_ci((pos, neg), lambda p, n: roc_auc_score(np.r_[np.ones(p.size), np.zeros(n.size)], np.r_[p, n]),
                   False, 400)
    assert small["ci95"] == pytest.approx(ref, abs=TOL)
    assert auroc([1, 2, 3], [True, True, True]) == {"auroc": None, "ci95": None, "n_pos": 3, "n_neg": 0}


def test_kappa_quadratic_on_an_ordinal_scale_and_plain_when_binary():
    rng = np.random.default_rng(1)
    human = rng.integers(1, 6, 50)
    judge = np.clip(human + rng.integers(-1, 2, 50), 1, 5)
    judge[judge == 3] = 4  # the judge never says 3: the levels must still be 1..5 for the weights
    got = agreement(judge, human, n_boot=20)["kappa"]
    assert got["weights"] == "quadratic"
    assert got["value"] == pytest.approx(cohen_kappa_score(human, judge, labels=[1, 2, 3, 4, 5], weights="quadratic"),
                                         abs=TOL)
    w = (np.subtract.outer(np.arange(5), np.arange(5)) ** 2) / 16  # brute force: 1 - sum(w O) / sum(w E)
    observed = np.zeros((5, 5))
    for h, j in zip(human, judge):
        observed[h - 1, j - 1] += 1
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    assert got["value"] == pytest.approx(1 - (w * observed).sum() / (w * expected).sum(), abs=TOL)
    a, b = rng.random(30) < 0.5, rng.random(30) < 0.5
    binary = agreement(a.astype(float), b.astype(float), n_boot=20)["kappa"]
    assert binary["weights"] is None and binary["value"] == pytest.approx(cohen_kappa_score(b, a), abs=TOL)


def test_cli_on_a_file_equals_the_libraries(tmp_path, judged, capsys):
    scores, labels = judged
    rows = [{"id": i, "score": float(s), "human": int(h) >= 4} for i, (s, h) in enumerate(zip(scores, labels))]
    rows[3]["human"] = None  # skipped and counted
    data = tmp_path / "joined.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "agree"
    assert main(["judge", "agreement", "--data", str(data), "--score-key", "score", "--label-key", "human",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads((out / "agreement.json").read_text())
    keep = [r for r in rows if r["human"] is not None]
    x, y = np.array([r["score"] for r in keep]), np.array([float(r["human"]) for r in keep])
    assert result["n"] == 39 and result["n_skipped"] == 1
    assert result["pearson"]["value"] == pytest.approx(pearsonr(x, y).statistic, abs=TOL)
    assert result["spearman"]["value"] == pytest.approx(spearmanr(x, y).statistic, abs=TOL)
    assert result["kendall"]["value"] == pytest.approx(kendalltau(x, y).statistic, abs=TOL)
    assert result["auroc"]["auroc"] == pytest.approx(roc_auc_score(y, x), abs=TOL)
    assert "| spearman |" in printed and (out / "agreement.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "agreement.md").read_text() in printed
    assert agreement_file(data, "score", "human") == {k: v for k, v in result.items()}


def test_bad_fields_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "d.json"
    data.write_text(json.dumps([{"score": 1, "label": "good"}, {"score": 2, "label": "bad"}]))
    assert main(["judge", "agreement", "--data", str(data), "--score-key", "score", "--label-key", "label"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "entry 0 key 'label' is 'good', expected a number" in err
    assert main(["judge", "agreement", "--data", str(data), "--score-key", "nope", "--label-key", "label"]) == 2
    assert "no entry has the key 'nope'" in capsys.readouterr().err
