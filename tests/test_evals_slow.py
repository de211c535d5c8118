"""Acceptance on the real SmolLM2-135M-Instruct checkpoint (slow: minutes on a CPU)."""

import json

import pytest
from sklearn.metrics import matthews_corrcoef

from workshop.evals import mmlu
from workshop.evals.classify import classify

pytestmark = pytest.mark.slow

COLA_TSV = [
    ("1", "The sailors rode the breeze clear of the rocks."),
    ("1", "The more we study verbs, the crazier they get."),
    ("1", "John wrote a letter to Mary."),
    ("1", "She is reading a book in the garden."),
    ("1", "We went to the store yesterday."),
    ("1", "The cat sat on the mat."),
    ("1", "I'll fix you a drink."),
    ("1", "Day by day the facts are getting murkier."),
    ("0", "They drank the pub."),
    ("0", "The child cried the teddy bear."),
    ("0", "Himself likes John."),
    ("0", "Book the read she garden in."),
    ("0", "Cat the mat on sat the."),
    ("0", "We goes to store the yesterday went."),
    ("0", "The more we study verbs, the crazier get they."),
    ("0", "Fred watered the plants flat and the cat."),
]


def test_mmlu_philosophy_full_subject_native(smollm2_dir, mmlu_dir, tmp_path):
    results = mmlu.evaluate(smollm2_dir, "mmlu_philosophy", data_dir=mmlu_dir, batch_size=8, out_dir=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["n-samples"]["mmlu_philosophy"] == {"original": 311, "effective": 311}
    acc = saved["results"]["mmlu_philosophy"]["acc,none"]
    assert 0.0 < acc < 1.0 and acc * 311 == pytest.approx(round(acc * 311))  # a real count of right answers
    assert results["workshop"]["converted_bytes"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]
    print(f"\nSmolLM2-135M-Instruct mmlu_philosophy 0-shot acc={acc:.4f} in {results['workshop']['eval_s']:.0f} s")


def test_classify_cola_tsv_on_smollm2(smollm2_dir, tmp_path):
    data = tmp_path / "in_domain_dev.tsv"
    data.write_text("".join(f"gj04\t{y}\t{'' if y == '1' else '*'}\t{s}\n" for y, s in COLA_TSV), encoding="utf-8")
    result = classify(smollm2_dir, data, "acceptable,unacceptable", prompt="cola", shots=4, out_dir=tmp_path / "out")
    assert result["n"] == 12 and sum(map(sum, result["confusion_matrix"])) == 12
    gold = [item["gold"] for item in result["per_item"]]
    pred = [item["pred"] for item in result["per_item"]]
    assert result["mcc"] == pytest.approx(matthews_corrcoef(gold, pred), abs=1e-12)  # sklearn on the same predictions
    assert result["accuracy"] == pytest.approx(sum(g == p for g, p in zip(gold, pred)) / 12)
    assert result["label_map"] == {"1": "acceptable", "0": "unacceptable"}
    assert json.loads((tmp_path / "out" / "classify.json").read_text())["mcc"] == pytest.approx(result["mcc"])
    print(f"\nSmolLM2 CoLA-style 4-shot: accuracy={result['accuracy']:.3f} MCC={result['mcc']:.3f}")
