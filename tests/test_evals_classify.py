"""Perplexity and label-word classification on a tiny checkpoint, checked against plain forwards by hand."""

import json
import math

import pytest
import torch

import workshop
from workshop.cli.main import main
from workshop.datasets.label_prompts import build_prompt, load_template
from workshop.evals.classify import classify
from workshop.evals.perplexity import perplexity

TEXTS = [
    "Every effort moves you.",
    "Hi",
    "A longer text, so that a batch holds rows of different lengths and padding has to be masked out properly.",
]
COLA_ROWS = [
    ("1", "The sailors rode the breeze clear of the rocks."),
    ("0", "They drank the pub."),
    ("1", "The more we study verbs, the crazier they get."),
    ("0", "The child cried the teddy bear."),
    ("1", "John wrote a letter to Mary."),
    ("0", "Himself likes John."),
    ("1", "We went to the store yesterday."),
    ("0", "Cat the mat on sat the."),
]


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint_dir):
    return workshop.load(tiny_checkpoint_dir, device="cpu")


def test_perplexity_is_exp_of_mean_token_loss_by_hand(loaded, tiny_checkpoint_dir, tmp_path):
    data = tmp_path / "texts.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    tok = loaded.tokenizer
    total, count = 0.0, 0
    for text in TEXTS:
        ids = [tok.bos_id] + tok.processor.encode(text, add_special_tokens=False).ids
        with torch.no_grad():
            logits = loaded.model(torch.tensor([ids]))[0, :-1]
        total += float(torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]), reduction="sum"))
        count += len(ids) - 1
    result = perplexity(tiny_checkpoint_dir, data, batch_size=2, out_dir=tmp_path / "out")
    assert result["tokens"] == count and result["texts"] == 3
    assert result["loss"] == pytest.approx(total / count, rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(total / count), rel=1e-4)
    windowed = perplexity(tiny_checkpoint_dir, data, batch_size=3, max_length=8)  # long text in several windows
    assert windowed["tokens"] == count
    assert json.loads((tmp_path / "out" / "perplexity.json").read_text())["perplexity"] == pytest.approx(result["perplexity"])


def test_classify_matches_by_hand_forward(loaded, tiny_checkpoint_dir, tmp_path):
    data = tmp_path / "cola.tsv"
    data.write_text("".join(f"gj04\t{y}\t{'' if y == '1' else '*'}\t{s}\n" for y, s in COLA_ROWS), encoding="utf-8")
    result = classify(tiny_checkpoint_dir, data, "acceptable,unacceptable", prompt="cola", shots=2, batch_size=3)
    assert result["n"] == 6 and result["shots"] == 2 and result["labels"] == ["acceptable", "unacceptable"]
    template = load_template("cola")
    shots = [tuple(e) for e in result["examples"]]
    assert {s for s, _ in shots} == {s for _, s in COLA_ROWS} - {p["text"] for p in result["predictions"]}
    assert sorted(w for _, w in shots) == ["acceptable", "unacceptable"]  # one example per label
    acceptable, unacceptable = (loaded.encode(" " + w, bos=False)[0] for w in ("acceptable", "unacceptable"))
    for p in result["predictions"]:
        prompt = build_prompt(template, result["labels"], shots, p["text"])
        with torch.no_grad():
            last = loaded.model(torch.tensor([loaded.encode(prompt.rstrip(" "))]))[0, -1]
        assert p["scores"]["acceptable"] == pytest.approx(float(last[acceptable]), abs=1e-4)
        assert p["scores"]["unacceptable"] == pytest.approx(float(last[unacceptable]), abs=1e-4)
        assert p["predicted"] == ("acceptable" if last[acceptable] > last[unacceptable] else "unacceptable")
    truth, predicted = [p["label"] for p in result["predictions"]], [p["predicted"] for p in result["predictions"]]
    labels = result["labels"]
    assert result["confusion_matrix"] == [[sum(t == a and p == b for t, p in zip(truth, predicted)) for b in labels]
                                          for a in labels]
    (tp, fn), (fp, tn) = result["confusion_matrix"]
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert result["mcc"] == pytest.approx((tp * tn - fp * fn) / denominator if denominator else 0.0, abs=1e-12)
    assert result["accuracy"] == pytest.approx(sum(t == p for t, p in zip(truth, predicted)) / 6)
    rows = [s for _, s in COLA_ROWS]  # per_item: the contract's shape, each row's index in the data file
    assert [set(item) for item in result["per_item"]] == [{"index", "gold", "pred", "correct"}] * 6
    for item, p in zip(result["per_item"], result["predictions"]):
        assert rows[item["index"]] == p["text"] and (item["gold"], item["pred"]) == (p["label"], p["predicted"])
        assert item["correct"] == (item["gold"] == item["pred"])


def test_cli_classify_and_perplexity(capsys, tiny_checkpoint_dir, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": s, "label": int(y)}) + "\n" for y, s in COLA_ROWS), encoding="utf-8")
    assert main(["eval", "classify", "--model", str(tiny_checkpoint_dir), "--data", str(data),
                 "--labels", "1=acceptable,0=unacceptable", "--shots", "0", "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "8 sentences, 0 shots" in out and "MCC" in out and "| true \\ predicted | acceptable | unacceptable |" in out
    assert len((tmp_path / "c" / "predictions.jsonl").read_text().splitlines()) == 8
    assert main(["eval", "perplexity", "--model", str(tiny_checkpoint_dir), "--data", str(data)]) == 0
    printed = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())  # a table for people
    loss = float(printed["loss"].split()[0])
    assert float(printed["perplexity"]) == pytest.approx(math.exp(loss), rel=1e-3)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["eval", "perplexity", "--model", str(tiny_checkpoint_dir), "--data", str(empty)]) == 2
    assert main(["eval", "perplexity", "--model", str(tiny_checkpoint_dir), "--data", str(data), "--field", "body"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("workshop: error:") and "file is empty" in err[0]
    assert "entry 1 has no 'body' key (found: text, label); pass --field NAME" in err[1]


def test_quoted_labels_and_paired_comparison_with_an_earlier_run(loaded, tiny_checkpoint_dir, tmp_path):
    from scipy.stats import binomtest

    data = tmp_path / "cola.tsv"
    data.write_text("".join(f"gj04\t{y}\t{'' if y == '1' else '*'}\t{s}\n" for y, s in COLA_ROWS), encoding="utf-8")
    shots = tmp_path / "shots.tsv"
    shots.write_text("gj04\t1\t\tA dog barked.\ngj04\t0\t*\tBarked dog a.\n", encoding="utf-8")
    before = classify(tiny_checkpoint_dir, data, "acceptable,unacceptable", prompt="cola", shots=2, shots_data=shots,
                      out_dir=tmp_path / "before")
    assert [item["index"] for item in before["per_item"]] == list(range(8))  # shots from elsewhere: every row scored
    after = classify(tiny_checkpoint_dir, data, "acceptable,unacceptable", prompt="cola", shots=0, quote_labels=True,
                     compare_to=tmp_path / "before" / "classify.json", out_dir=tmp_path / "after")
    prompt = build_prompt(load_template("cola"), after["labels"], [], COLA_ROWS[0][1], quote=True)
    assert prompt.startswith('Decide whether each English sentence is grammatically "acceptable" or "unacceptable".')
    assert prompt.endswith(f'{COLA_ROWS[0][1]} - "')  # the query ends in the opening quote
    first = {w: loaded.encode('"' + w, bos=False)[1] for w in after["labels"]}  # the word's first token after '"'
    with torch.no_grad():
        last = loaded.model(torch.tensor([loaded.encode(prompt)]))[0, -1]
    assert after["predictions"][0]["scores"] == pytest.approx({w: float(last[t]) for w, t in first.items()}, abs=1e-4)

    a = [i["correct"] for i in before["per_item"]]
    b = [i["correct"] for i in after["per_item"]]
    only_a, only_b = sum(x and not y for x, y in zip(a, b)), sum(y and not x for x, y in zip(a, b))
    paired = json.loads((tmp_path / "after" / "classify.json").read_text())["paired"]
    assert (paired["n"], paired["only_a"], paired["only_b"]) == (8, only_a, only_b)
    assert paired["mcnemar_p"] == pytest.approx(binomtest(only_b, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0)
    assert paired["mcc_baseline"] == before["mcc"]
