"""SmolLM2-135M-Instruct as judge (slow): every item scored, correct outputs beat wrong ones."""

import json
import time

import pytest

from workshop.judge import score_file


@pytest.mark.slow
def test_smollm2_prefers_correct_outputs(smollm2_dir, instruction_data_path, tmp_path):
    data = json.loads(instruction_data_path.read_text(encoding="utf-8"))
    n = 20
    # "bad": the output of an entry 7 places further on, a fluent but wrong answer to this instruction
    rows = [{**e, "good": e["output"], "bad": data[(i + 7) % len(data)]["output"]} for i, e in enumerate(data[:n])]
    path = tmp_path / "judge-data.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    start = time.perf_counter()
    summary = score_file(path, ["good", "bad"], out_dir=tmp_path / "out", judge=str(smollm2_dir), batch_size=8)
    seconds = time.perf_counter() - start
    good, bad, paired = summary["keys"]["good"], summary["keys"]["bad"], summary["paired"]
    print(
        f"\nSmolLM2 judge, {n} entries, mode {summary['mode']}: good {good['mean']:.2f} {good['ci95']}, "
        f"bad {bad['mean']:.2f} {bad['ci95']}, diff {paired['mean_diff']:.2f} {paired['ci95']}, "
        f"W/T/L {paired['wins']}/{paired['ties']}/{paired['losses']}, Wilcoxon p {paired['wilcoxon_p']:.4f}, "
        f"{seconds:.0f} s ({2 * n / seconds:.2f} items/s)"
    )
    assert summary["mode"] == "logits"
    assert good["n_scored"] == bad["n_scored"] == n
    assert good["mean"] > bad["mean"]
    records = [json.loads(line) for line in (tmp_path / "out" / "scores.jsonl").read_text().splitlines()]
    assert len(records) == 2 * n and all(0 <= r["score"] <= 100 and r["valid_mass"] > 0 for r in records)


@pytest.mark.slow
def test_smollm2_pairwise_mirrors_and_reports_its_biases(smollm2_dir, instruction_data_path, tmp_path):
    from workshop.judge import pairwise

    data = json.loads(instruction_data_path.read_text(encoding="utf-8"))
    rows = [{**e, "good": e["output"], "bad": data[(i + 7) % len(data)]["output"]} for i, e in enumerate(data[:12])]
    _, forward = pairwise(rows, ["good", "bad"], judge=str(smollm2_dir), out_dir=tmp_path / "gb", progress=False)
    _, backward = pairwise(rows, ["bad", "good"], judge=str(smollm2_dir), out_dir=tmp_path / "bg", progress=False)
    p, q = forward["pairwise"], backward["pairwise"]
    print(f"\nSmolLM2 pairwise, 12 entries: {p['sentence']} wins good/tie/bad {p['wins_a']}/{p['ties']}/{p['wins_b']}")
    assert (p["wins_a"], p["wins_b"], p["ties"]) == (q["wins_b"], q["wins_a"], q["ties"]) and p["n"] == 12
    assert p["position_consistency"] == q["position_consistency"] and p["n_first_position"] == q["n_first_position"]
    assert 0.0 < forward["reliability"]["valid_mass_median"] <= 1.0 and p["n_unparsed"] == 0
