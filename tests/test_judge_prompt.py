"""build_prompt reproduces the workshop's judge prompt; templates are files with placeholders."""

import pytest

from workshop.core.errors import WorkshopError
from workshop.judge import build_prompt
from workshop.judge.prompt import DEFAULT_TEMPLATE, load_template, prompt_hash, template_fields

ENTRY = {
    "instruction": "What is the atomic number of helium?",
    "input": "",
    "output": "The atomic number of helium is 2.",
    "response_before": "\nThe atomic number of helium is 2.0.",
    "response_after": "\nThe atomic number of helium is 3.",
}
ENTRY_WITH_INPUT = {
    "instruction": "Rewrite the sentence using a simile.",
    "input": "The car is very fast.",
    "output": "The car is as fast as lightning.",
    "model_response": "The car is as fast as a cheetah {really}.",
}


def workshop_prompt(entry, json_key):
    """The prompt exactly as written in LLM-workshop-2024 06_part-4 / LLMs-from-scratch ch07 (typed by hand)."""
    instruction_text = (
        "Below is an instruction that describes a task. "
        "Write a response that appropriately completes the request."
        f"\n\n### Instruction:\n{entry['instruction']}"
    )
    input_text = f"\n\n### Input:\n{entry['input']}" if entry["input"] else ""
    formatted = instruction_text + input_text
    return (
        f"Given the input `{formatted}` "
        f"and correct output `{entry['output']}`, "
        f"score the model response `{entry[json_key]}`"
        f" on a scale from 0 to 100, where 100 is the best score. "
        f"Respond with the integer number only."
    )


@pytest.mark.parametrize(
    "entry, key", [(ENTRY, "response_before"), (ENTRY, "response_after"), (ENTRY_WITH_INPUT, "model_response")]
)
def test_reproduces_the_workshop_prompt(entry, key):
    assert build_prompt(entry, key) == workshop_prompt(entry, key)


def test_default_template_is_a_file_with_placeholders():
    text = load_template()
    assert DEFAULT_TEMPLATE.parent.name == "judge" and DEFAULT_TEMPLATE.parent.parent.name == "evals"
    assert text.count("{input}") == text.count("{output}") == text.count("{response}") == 1
    assert not text.endswith("\n")
    assert template_fields(text) == ["instruction", "output"]


def test_custom_template_fills_entry_fields_and_leaves_other_braces(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text('Task: {instruction}\nReference: {output}\nAnswer: {response}\nReply as {"score": N}\n')
    prompt = build_prompt(ENTRY_WITH_INPUT, "model_response", load_template(path))
    assert prompt == (
        "Task: Rewrite the sentence using a simile.\nReference: The car is as fast as lightning.\n"
        'Answer: The car is as fast as a cheetah {really}.\nReply as {"score": N}'
    )


def test_template_errors_name_the_file(tmp_path):
    with pytest.raises(WorkshopError, match="not found"):
        load_template(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("Score {output} please")
    with pytest.raises(WorkshopError, match=r"bad\.txt.*no \{response\}"):
        load_template(tmp_path / "bad.txt")


def test_prompt_hash_is_stable_and_distinguishes_prompts():
    a, b = build_prompt(ENTRY, "response_before"), build_prompt(ENTRY, "response_after")
    assert prompt_hash(a) == prompt_hash(a) and len(prompt_hash(a)) == 16
    assert prompt_hash(a) != prompt_hash(b)
