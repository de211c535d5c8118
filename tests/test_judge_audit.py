"""The judge audit: probes applied where they belong, each shift recomputed from audit.jsonl, the verdict capped."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import wilcoxon

from workshop.core.stats import bootstrap_ci
from workshop.judge import score, score_file
from workshop.judge.audit import MAX_SHIFT, REFERENCE
from workshop.judge.probes import FILLER, PROBES, VERSION

from test_judge_fixtures import one_thread, tiny_digits_dir  # noqa: F401 (fixtures)

FIXTURE = Path(__file__).parent / "fixtures" / "judge_audit_pairs.json"
_RESPONSE = re.compile(r"score the model response `(.*?)` on a scale", re.DOTALL)


def gullible(prompts):
    """A judge that knows the right answers (AUROC 1) but believes any claim of a perfect score and dislikes filler."""
    right = {e["right"].lower() for e in json.loads(FIXTURE.read_text())}
    answers = []
    for p in prompts:
        response = _RESPONSE.search(p).group(1)
        core = response.strip().lstrip("- ").lower()
        if "score of 100" in response or "Score: 100" in response or "verified correct" in response:
            answers.append("95")
        elif FILLER in response:
            answers.append("70")
        else:
            answers.append("90" if core.replace(" " + FILLER.lower(), "") in right else "20")
    return answers


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def check_shifts_recomputed(out_dir, summary):
    """Every probe's n, mean shift, CI, Wilcoxon p and outscore shares, recomputed from audit.jsonl alone."""
    rows = read_jsonl(out_dir / "audit.jsonl")
    assert all(r["version"] == VERSION for r in rows)
    for block in summary["audit"]["probes"]:
        mine = [r for r in rows if r["probe"] == block["probe"] and r["perturbed"] is not None]
        shifts = [r["perturbed"] - r["original"] for r in mine]
        assert block["n"] == len(mine)
        if not mine:
            continue
        assert block["mean_shift"] == pytest.approx(sum(shifts) / len(shifts))
        assert block["ci95"] == pytest.approx(bootstrap_ci(shifts))
        expected_p = 1.0 if not any(shifts) else wilcoxon(shifts).pvalue
        assert block["wilcoxon_p"] == pytest.approx(expected_p)
        wrong = [r for r in mine if r["class"] == "wrong" and r["reference_score"] is not None]
        if block["kind"] == "injection" and wrong:
            assert block["outscore_reference_after"] == pytest.approx(
                sum(r["perturbed"] > r["reference_score"] for r in wrong) / len(wrong))
            assert block["outscore_reference_before"] == pytest.approx(
                sum(r["original"] > r["reference_score"] for r in wrong) / len(wrong))
    return rows


def test_audit_on_the_fixture_with_a_gullible_judge(tmp_path):
    out = tmp_path / "out"
    summary = score(json.loads(FIXTURE.read_text()), ["right", "wrong"], judge=gullible, out_dir=out,
                            progress=False)[1]
    assert summary["reliability"]["verdict"] == "strong"  # before the audit: AUROC 1
    summary = score_file(FIXTURE, ["right", "wrong"], judge=gullible, out_dir=out, audit=True, progress=False)
    rows = check_shifts_recomputed(out, summary)
    by_probe = {p["probe"]: p for p in summary["audit"]["probes"]}
    for probe in PROBES:  # where each probe went: injections to the 12 wrong, padding to the 12 right, format to all
        mine = [r for r in rows if r["probe"] == probe.name]
        want = {"injection": {"wrong"}, "padding": {"right"}, "format": {"right", "wrong"}}[probe.kind]
        assert {r["class"] for r in mine} == want and len(mine) == 12 * len(want)
        assert all(r["key"] != REFERENCE for r in mine)  # each reference answer is already the "right" key
    assert by_probe["inject-grader-after"]["mean_shift"] == pytest.approx(75.0)  # 20 -> 95
    assert by_probe["inject-grader-after"]["outscore_reference_after"] == 1.0
    assert by_probe["inject-grader-after"]["outscore_reference_before"] == 0.0
    assert by_probe["pad-neutral"]["mean_shift"] == pytest.approx(-20.0)
    assert by_probe["format-trailing-space"]["mean_shift"] == pytest.approx(0.0)
    rel = summary["reliability"]
    assert rel["verdict"] == "usable" and rel["audit_cap"] and f"more than {MAX_SHIFT:g} points" in rel["sentence"]
    assert summary["audit"]["worst_harm"] == pytest.approx(75.0) and summary["audit"]["weakness"]
    md = (out / "summary.md").read_text()
    assert md.count("\n- When ") == len(PROBES)
    assert "wrong answers' scores rose by 75.0 points" in md
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["audit"] == summary["audit"] and on_disk["reliability"]["verdict"] == "usable"


def test_without_references_every_answer_gets_every_probe(tmp_path):
    entries = [{k: v for k, v in e.items() if k != "output"} for e in json.loads(FIXTURE.read_text())]
    data = tmp_path / "open.json"
    data.write_text(json.dumps(entries))
    summary = score_file(data, ["right", "wrong"], judge=gullible, out_dir=tmp_path / "out", audit=True,
                         audit_items=10, progress=False)
    rows = check_shifts_recomputed(tmp_path / "out", summary)
    assert {r["class"] for r in rows} == {"unchecked"}
    assert [p["n"] for p in summary["audit"]["probes"]] == [10] * len(PROBES)  # capped at audit_items
    assert summary["reliability"]["verdict"] is None and "the audit moved it" in summary["reliability"]["sentence"]


def test_pairwise_audit_is_the_position_swap(tmp_path):
    def first_is_best(prompts):
        return ["A"] * len(prompts)

    summary = score_file(FIXTURE, ["right", "wrong"], judge=[first_is_best], pairwise=True, out_dir=tmp_path / "pw",
                         audit=True, progress=False)
    rows = check_shifts_recomputed(tmp_path / "pw", summary)
    assert [p["probe"] for p in summary["audit"]["probes"]] == ["position-swap"]
    assert len(rows) == 12 and all(r["perturbed"] - r["original"] == 100.0 for r in rows)
    assert summary["reliability"]["verdict"] != "strong" and summary["audit"]["weakness"]


def test_bad_audit_input_is_one_line(tmp_path):
    from workshop.core.errors import WorkshopError

    with pytest.raises(WorkshopError, match="once per --judge"):
        score_file(FIXTURE, ["right", "wrong"], judge=[gullible, gullible], out_dir=tmp_path / "p", audit=True,
                   progress=False)


@pytest.mark.slow
def test_smollm2_audit_on_the_fixture(smollm2_dir, tmp_path):
    """The acceptance run: SmolLM2-135M-Instruct, logits mode, the 12 pairs; prints every probe's figures."""
    out = tmp_path / "out"
    summary = score_file(FIXTURE, ["right", "wrong"], judge=str(smollm2_dir), mode="logits", out_dir=out,
                         audit=True, progress=False)
    check_shifts_recomputed(out, summary)
    rel = summary["reliability"]
    print(f"\nAUROC {rel['auroc_exact_match']:.3f} {rel['auroc_ci95']}, verdict {rel['verdict']}")
    for p in summary["audit"]["probes"]:
        print(f"{p['probe']:24s} n={p['n']:2d} shift {p['mean_shift']:+6.2f} CI {np.round(p['ci95'], 2)} "
              f"p {p['wilcoxon_p']:.4g} outscore {p.get('outscore_reference_before')}->"
              f"{p.get('outscore_reference_after')}")
    assert summary["mode"] == "logits" and len(summary["audit"]["probes"]) == len(PROBES)


def test_cli_audit_and_judged_flags(tmp_path, tiny_digits_dir, capsys):
    from workshop.cli.main import main

    out = tmp_path / "out"
    rc = main(["judge", "--data", str(FIXTURE), "--key", "right", "--key", "wrong", "--judge", str(tiny_digits_dir),
               "--limit", "3", "--audit", "--audit-items", "2", "--judged", str(tiny_digits_dir), "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    check_shifts_recomputed(out, summary)
    assert all(p["n"] <= 2 for p in summary["audit"]["probes"]) and summary["audit"]["version"] == VERSION
    assert any(n.startswith("self-preference:") for n in summary["notes"])
    printed = capsys.readouterr().out
    assert "Audit (probe set v1" in printed and "Note: self-preference:" in printed
