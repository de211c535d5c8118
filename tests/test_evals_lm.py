"""The native lm-eval adapter on a tiny checkpoint: equal to lm-eval's HFLM, to a by-hand forward, end to end."""

import csv
import json

import pytest
import torch
from lm_eval.api.instance import Instance

import workshop
from workshop.cli.main import main
from workshop.evals import mmlu
from workshop.evals.hf_backend import convert_checkpoint, hf_lm
from workshop.evals.lm_adapter import LitGPTLM

QUESTIONS = [
    [f"Which option is number {i} in this quiz about {topic}?", "first", "second", "third", "fourth", "ABCD"[i % 4]]
    for i, topic in enumerate(["virtue", "logic", "Kant", "Hume", "ethics", "beauty", "mind", "truth"])
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A tiny MMLU folder in the official layout (8 philosophy questions, no dev split)."""
    root = tmp_path_factory.mktemp("mmlu")
    (root / "test").mkdir()
    with open(root / "test" / "philosophy_test.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(QUESTIONS)
    return root


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint_dir):
    return workshop.load(tiny_checkpoint_dir, device="cpu")


def instances(kind, args_list):
    return [Instance(kind, {}, args, i) for i, args in enumerate(args_list)]


def by_hand_logprob(loaded, context, continuation):
    """log P(continuation | context) from one plain GPT forward over all positions."""
    adapter = LitGPTLM(loaded)
    ctx, cont = adapter._encode_pair(context, continuation)
    with torch.no_grad():
        logits = loaded.model(torch.tensor([ctx + cont]))[0, len(ctx) - 1 : -1].log_softmax(-1)
    return float(logits.gather(-1, torch.tensor(cont)[:, None]).sum())


LL_REQUESTS = [
    ("Question: what is 2+2?\nAnswer:", " A"),
    ("Question: what is 2+2?\nAnswer:", " B"),
    ("The capital of France is", " Paris, of course"),
    ("", "An empty context scores from BOS/EOS"),
    ("Trailing space ", "moves to the continuation"),
    ("word " * 1100, " end"),  # longer than the 1024-token context: truncated from the left
]


def test_native_agrees_with_hflm(loaded, tiny_checkpoint_dir, tmp_path):
    native = LitGPTLM(loaded, batch_size=3)
    converted = convert_checkpoint(tiny_checkpoint_dir, tmp_path / "hf")
    assert converted == sum(f.stat().st_size for f in (tmp_path / "hf").iterdir())
    hf = hf_lm(tmp_path / "hf", batch_size=3, device=torch.device("cpu"), dtype=torch.float32)
    ours, theirs = native.loglikelihood(instances("loglikelihood", LL_REQUESTS)), hf.loglikelihood(
        instances("loglikelihood", LL_REQUESTS)
    )
    for (a, greedy_a), (b, greedy_b) in zip(ours, theirs):
        assert a == pytest.approx(b, abs=1e-3) and greedy_a == greedy_b
    texts = [("A short text to score.",), ("Rolling windows over a long text. " * 200,)]
    assert native.loglikelihood_rolling(instances("loglikelihood_rolling", texts)) == pytest.approx(
        hf.loglikelihood_rolling(instances("loglikelihood_rolling", texts)), abs=1e-3
    )
    gen = [("Once upon a time", {"until": ["\n"], "max_gen_toks": 12}), ("Q: 1+1?\nA:", {"until": ["."], "max_gen_toks": 8})]
    assert native.generate_until(instances("generate_until", gen)) == hf.generate_until(instances("generate_until", gen))


def test_loglikelihood_equals_plain_forward(loaded):
    scores = LitGPTLM(loaded, batch_size=2).loglikelihood(instances("loglikelihood", LL_REQUESTS[:5]))
    for (context, continuation), (score, _) in zip(LL_REQUESTS[:5], scores):
        if context:
            assert score == pytest.approx(by_hand_logprob(loaded, context, continuation), abs=1e-4)


def test_evaluate_limit_native_and_hf(tiny_checkpoint_dir, data_dir, loaded, tmp_path):
    out = tmp_path / "native"
    results = mmlu.evaluate(tiny_checkpoint_dir, "mmlu_philosophy", data_dir=data_dir, limit=5, out_dir=out, log_samples=True)
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "results.md", "samples_mmlu_philosophy.jsonl"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["n-samples"]["mmlu_philosophy"] == {"original": 8, "effective": 5}
    samples = [json.loads(line) for line in (out / "samples_mmlu_philosophy.jsonl").read_text().splitlines()]
    picked = [max(range(4), key=lambda k: s["filtered_resps"][k][0]) for s in samples]
    assert saved["results"]["mmlu_philosophy"]["acc,none"] == pytest.approx(
        sum(p == s["target"] for p, s in zip(picked, samples)) / 5
    )
    context, continuation = samples[0]["arguments"][0]
    assert context.endswith(f"{QUESTIONS[0][0]}\nA. first\nB. second\nC. third\nD. fourth\nAnswer:") and continuation == " A"
    assert samples[0]["filtered_resps"][0][0] == pytest.approx(by_hand_logprob(loaded, context, " A"), abs=1e-4)
    assert results["workshop"]["converted_bytes"] == 0 and results["workshop"]["questions"] == 5
    assert "philosophy" in (out / "results.md").read_text()

    hf = mmlu.evaluate(tiny_checkpoint_dir, ["mmlu_philosophy"], data_dir=data_dir, limit=5, backend="hf", out_dir=tmp_path / "hf")
    assert hf["results"]["mmlu_philosophy"]["acc,none"] == saved["results"]["mmlu_philosophy"]["acc,none"]
    assert hf["workshop"]["converted_bytes"] > (tiny_checkpoint_dir / "lit_model.pth").stat().st_size
    assert (tmp_path / "hf" / "hf-model" / "pytorch_model.bin").is_file()

    summary = mmlu.compare([str(out), str(tmp_path / "hf" / "results.json")])
    acc, se = saved["results"]["mmlu_philosophy"]["acc,none"], saved["results"]["mmlu_philosophy"]["acc_stderr,none"]
    cell = f"{acc:.4f} ± {se:.4f} (n=5)"
    assert f"| mmlu_philosophy | {cell} | {cell} |" in mmlu.compare_markdown(summary)
    assert summary["paired"]["only_a"] == summary["paired"]["only_b"] == 0  # the same model, question by question


def run_cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return code, [line for line in err if line.startswith("workshop: error:")], err


@pytest.mark.parametrize(
    "rows, extra, message",
    [
        (QUESTIONS, ["--tasks", "mmlu_philosophi"], "unknown task 'mmlu_philosophi'; did you mean mmlu_philosophy"),
        ([q[:5] for q in QUESTIONS], [], "philosophy_test.csv:1: expected 6 columns (question,A,B,C,D,answer), got 5"),
        ([], [], "philosophy_test.csv: file is empty"),
        (QUESTIONS, ["--num-fewshot", "2"], "dev/philosophy_dev.csv: not found; --num-fewshot 2 needs the dev split"),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, tiny_checkpoint_dir, rows, extra, message):
    (tmp_path / "test").mkdir()
    with open(tmp_path / "test" / "philosophy_test.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    argv = ["eval", "mmlu", "--model", str(tiny_checkpoint_dir), "--tasks", "mmlu_philosophy", "--data-dir", str(tmp_path)]
    code, errors, err = run_cli(capsys, *argv, "--limit", "2", *extra)
    assert code == 2 and len(errors) == 1 and message in errors[0], err
    assert not any("Traceback" in line for line in err)


def test_no_data_dir_offline_names_data_dir(capsys, monkeypatch, tiny_checkpoint_dir):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    code, errors, err = run_cli(capsys, "eval", "mmlu", "--model", str(tiny_checkpoint_dir), "--tasks", "mmlu_philosophy")
    assert code == 2 and len(errors) == 1 and "pass --data-dir auto" in errors[0] and "or --data-dir DIR" in errors[0], err
