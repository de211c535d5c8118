"""Tenny's `{"text": "#context\\n\\n...\\n\\n#response\\n\\n..."}` JSONL data for LitGPT finetuning.

LitGPT's `JSON` data module wants `instruction`/`output` keys and a `val` split; Tenny's data
is MLX-style `train.jsonl`/`valid.jsonl`/`test.jsonl` with one `text` field. `TennyJSONL`
splits each text at its `#response` marker into instruction/output, and the `ContextResponse`
prompt style puts the markers back, so prompt + output reproduces the original text exactly.
LitGPT saves the style's class path in `final/prompt_style.yaml`, so the finetuned model
is prompted the same way when loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from litgpt.data import JSON
from litgpt.prompts import PromptStyle

from workshop.core.errors import WorkshopError
from workshop.core.io import numbered_jsonl

CONTEXT = "#context\n\n"
RESPONSE = "\n\n#response\n\n"


class ContextResponse(PromptStyle):
    """`#context\\n\\n{prompt}\\n\\n#response\\n\\n`: the prompt half of a Tenny text."""

    def apply(self, prompt: str, *, sys_prompt: str | None = None, **kwargs: str) -> str:
        return f"{CONTEXT}{prompt}{RESPONSE}"


def parse_text(text: str, where: str = "<text>") -> dict:
    """Split one Tenny text into {"instruction": context, "input": "", "output": response}."""
    if not text.startswith(CONTEXT) or RESPONSE not in text:
        raise WorkshopError(
            f"{where}: 'text' must look like '#context\\n\\n...\\n\\n#response\\n\\n...'; fix the entry"
        )
    context, response = text[len(CONTEXT) :].split(RESPONSE, 1)
    return {"instruction": context, "input": "", "output": response}


def read_tenny_jsonl(path: Path) -> list[dict]:
    """Read a Tenny JSONL file into instruction/output entries; errors name the file and line."""
    if not path.is_file():
        raise WorkshopError(f"{path}: file not found; a Tenny data directory needs train.jsonl and valid.jsonl")
    entries = []
    for lineno, record in numbered_jsonl(path):
        where = f"{path}: line {lineno}"
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise WorkshopError(f"{where}: missing key 'text'; each line must be {{\"text\": \"#context...\"}}")
        entries.append(parse_text(record["text"], where))
    return entries


@dataclass
class TennyJSONL(JSON):
    """A directory with Tenny's `train.jsonl` and `valid.jsonl` (`test.jsonl` is for evaluation only)."""

    json_path: Path
    """The directory holding train.jsonl, valid.jsonl (and test.jsonl)."""
    prompt_style: str | PromptStyle = field(default_factory=ContextResponse)
    """Defaults to the `#context`/`#response` format of the data itself."""

    def get_splits(self) -> tuple[list[dict], list[dict]]:
        return read_tenny_jsonl(self.json_path / "train.jsonl"), read_tenny_jsonl(self.json_path / "valid.jsonl")
