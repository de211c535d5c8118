"""The step kinds a pipeline recipe can chain (`uses:`): each is a CLI verb's own job function.

A step's `with:` keys are that function's parameters, parsed by the same jsonargparse
signature as the verb's flags (so defaults and types are declared once); the step only
fills the parameters it owns (where outputs go, from `step_dir`) and names its outputs
for later steps (`${step_name.output}`). `finetune_lora` is LitGPT's own function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Step:
    """A pipeline step kind: the job it runs, the arguments it fills, the outputs it names."""

    job: str  # "module:function", the same function as the CLI verb
    owns: dict[str, Callable[[Path], Any]] = field(default_factory=dict)  # parameter -> value from step_dir
    outputs: Callable[[Any, Path, dict], dict[str, Any]] = lambda result, step_dir, args: {"result": result}
    show: str | None = None  # "module:function" printing the result for people (the CLI verb's printer)


def _mmlu_outputs(results: dict, step_dir: Path, args: dict) -> dict[str, Any]:
    if len(args["models"]) == 1:
        return {"results": {args["models"][0]: str(step_dir / "results.json")}}
    from workshop.evals.mmlu import compare_dir

    return {"results": {m: str(compare_dir(step_dir, i, m) / "results.json") for i, m in enumerate(args["models"])},
            "summary": str(step_dir / "results.json")}  # accuracies and the paired block (CONTRACTS §3)


STEPS: dict[str, Step] = {
    "download": Step("workshop.models.checkpoints:download", outputs=lambda r, d, a: {"checkpoint": str(r)}),
    "split": Step("workshop.datasets.instructions:split_file", owns={"out_dir": lambda d: d}, outputs=lambda r, d, a: r),
    "respond": Step("workshop.respond:respond_file", owns={"out": lambda d: d / "responses.json"},
                    outputs=lambda r, d, a: {"data": str(r), "key": a["key"]}),
    "finetune_lora": Step("workshop.run.recipes:finetune_step"),  # LitGPT keys: parsed by LitGPT's parser
    "judge": Step("workshop.judge.scoring:score_file", owns={"out_dir": lambda d: d},
                  outputs=lambda r, d, a: {"summary": str(d / "summary.json"), "out_dir": str(d), "mode": r.get("mode")}),
    "classify": Step("workshop.evals.classify:classify", owns={"out_dir": lambda d: d},
                     outputs=lambda r, d, a: {"results": str(d / "classify.json")}, show="workshop.cli.eval:show_classify"),
    "mmlu": Step("workshop.cli.eval:mmlu", owns={"out": lambda d: d}, outputs=_mmlu_outputs),
    "report": Step("workshop.report:write_report", owns={"run_dir": lambda d: d.parent},
                   outputs=lambda r, d, a: {name: str(p) for name, p in r.items()}),
}
