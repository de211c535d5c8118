"""The command line reports every missing, unknown or ill-typed flag at once, spelled as `--help` and the
README spell it, before any heavy import (a mistyped command fails in about a second)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workshop.cli.main import main
from workshop.run.jobs import VERBS, source_params

PROBE = """
import sys
from workshop.cli.main import main
code = main({argv!r})
print({{"code": code, "heavy": sorted(m for m in ("torch", "litgpt", "lm_eval", "transformers") if m in sys.modules)}})
"""


def one_error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("workshop: error: ") and err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize("argv", [["respond"], ["eval", "classify", "--shots", "-1"], ["judge", "--limit", "0"],
                                  ["eval", "mmlu", "--batch-size", "zero"]])
def test_a_failed_parse_imports_neither_torch_nor_litgpt(argv):
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120)
    result = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 (our own probe's dict)
    assert result == {"code": 2, "heavy": []}, out.stderr


def test_all_missing_flags_come_together_in_the_readme_spelling(capsys):
    assert one_error(["respond"], capsys).endswith(
        "workshop respond: missing --model, --data, --key (required; see `workshop respond --help`)")
    assert "missing --model (required" in one_error(["eval", "mmlu"], capsys)  # the parameter is `models`
    assert "missing --model, --data, --labels (required" in one_error(["eval", "classify"], capsys)  # `model_dir`
    assert "missing RECIPE (required; `workshop run RECIPE`" in one_error(["run"], capsys)
    assert "missing REPO_ID (required; `workshop download REPO_ID`" in one_error(["download"], capsys)


def test_bad_values_and_unknown_flags_come_together_with_the_missing_ones(capsys):
    err = one_error(["generate", "--temperature", "hot", "--max-new-tokens", "0", "--top-kk", "3"], capsys)
    assert "--temperature: 'hot' is not a number; use a number of 0 or more" in err
    assert "--max-new-tokens: 0 is out of range; use a whole number of 1 or more" in err
    assert "--top-kk: unknown flag; did you mean --top-k?" in err
    assert "missing --model, --prompt (required" in err
    err = one_error(["judge", "--data", "x.json", "--key", "a", "--limit", "0", "--mode", "fast"], capsys)
    assert "--limit: 0 is out of range; use a whole number of 1 or more (or leave it out)" in err
    assert "--mode: use one of" in err and "--data: x.json: file not found" in err


def spelled(verb: str, name: str) -> str:
    job = VERBS[verb]
    if name in job.positional:
        return name.upper()
    alias = next((a for a, p in job.aliases.items() if p == name), name)
    return "--" + alias.replace("_", "-")


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_required_parameter_is_named_as_help_spells_it(verb, capsys):
    required = [n for n, p in source_params(VERBS[verb].target).items() if p.required]
    if not required:
        assert verb in {"quickstart", "gpt pretrain", "gpt download", "recipes", "eval list", "data download",
                        "data generate", "data grammar", "data cola", "data mmlu"}
        return
    err = one_error(verb.split(), capsys)
    names = [spelled(verb, n) for n in required]
    assert f"missing {', '.join(names)} (required;" in err
    with pytest.raises(SystemExit):
        main([*verb.split(), "--help"])
    usage = capsys.readouterr().out
    for name in names:  # --help shows the parameter; the README spelling is its alias or its upper-case word
        assert name.lstrip("-").replace("-", "_").lower() in usage.replace("-", "_").lower() or name in json.dumps(
            VERBS[verb].aliases)
