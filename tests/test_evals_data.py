"""Data readers of the evals: MMLU CSVs, classification files (CoLA TSV as is), label words, templates."""

import json
import re

import pytest

from workshop.core.errors import WorkshopError
from workshop.datasets.label_prompts import build_prompt, label_tokens, load_template, pick_shots
from workshop.datasets.labelled import label_words, read_labelled
from workshop.evals.local_tasks import load_local_mmlu, read_mmlu_csv
from workshop.evals.perplexity import read_texts, windows

COLA = (
    "gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\n"
    'gj04\t0\t*\tHe said "go" the house.\n'
    "gj04\t1\t\tThe more we study verbs, the crazier they get.\n"
)


def test_mmlu_csv_to_cais_schema(tmp_path):
    path = tmp_path / "test" / "philosophy_test.csv"
    path.parent.mkdir()
    path.write_text('"Who wrote ""Republic""?",Plato,Kant,Hume,Mill,A\nQ2,a,b,c,d,D\n', encoding="utf-8")
    rows = read_mmlu_csv(path, "philosophy")
    assert rows[0] == {"question": 'Who wrote "Republic"?', "subject": "philosophy",
                       "choices": ["Plato", "Kant", "Hume", "Mill"], "answer": 0}
    assert rows[1]["answer"] == 3
    data = load_local_mmlu(tmp_path, "philosophy", version=1.0)
    assert list(data) == ["test"]
    assert data["test"].features["answer"].names == ["A", "B", "C", "D"]
    assert data["test"][1]["choices"] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("Q,a,b,c,D\n", "philosophy_test.csv:1: expected 6 columns (question,A,B,C,D,answer), got 5"),
        ("Q,a,b,c,d,A\nQ,a,b,c,d,E\n", "philosophy_test.csv:2: answer column is 'E'"),
        ("", "file is empty"),
    ],
)
def test_mmlu_csv_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "philosophy_test.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkshopError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        read_mmlu_csv(path, "philosophy")
    assert "\n" not in str(err.value)


def test_cola_tsv_read_as_is_and_binary_labels(tmp_path):
    path = tmp_path / "in_domain_dev.tsv"
    path.write_text(COLA, encoding="utf-8")
    rows = read_labelled(path)
    assert rows[1] == ('He said "go" the house.', "0")  # bare quotes kept (no CSV quoting in CoLA)
    mapping = label_words([label for _, label in rows], "acceptable,unacceptable")
    assert mapping == {"1": "acceptable", "0": "unacceptable"}  # 1 = first word, as CoLA's 1 = acceptable
    assert label_words(["0", "1"], "0=bad,1=good") == {"0": "bad", "1": "good"}


def test_header_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "data.csv"
    csv_path.write_text('text,label\n"Great, really",positive\nBad,negative\n', encoding="utf-8")
    assert read_labelled(csv_path) == [("Great, really", "positive"), ("Bad", "negative")]
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text("\n".join(json.dumps({"sentence": s, "label": y}) for s, y in [("a b", 1), ("c d", 0)]) + "\n")
    assert read_labelled(jsonl) == [("a b", "1"), ("c d", "0")]
    assert label_words(["positive", "negative"], "positive,negative") == {"positive": "positive", "negative": "negative"}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("d.csv", "sentence,score\nhello,1\n", "no column 'label' (found: sentence, score)"),
        ("d.csv", "words,label\nhello,1\n", "no 'sentence' or 'text' column"),
        ("d.tsv", "", "file is empty"),
        ("d.tsv", "a\tb\n", "not CoLA's layout"),
        ("d.jsonl", '{"text": "x"}\n', "no column 'label'"),
        ("d.txt", "x\n", "unknown format '.txt'"),
    ],
)
def test_classify_data_errors_are_one_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkshopError) as err:
        read_labelled(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_label_words_errors():
    with pytest.raises(WorkshopError, match="does not cover"):
        label_words(["0", "1", "2"], "a,b")
    with pytest.raises(WorkshopError, match="no word for data label"):
        label_words(["0", "1"], "0=a,2=b")
    with pytest.raises(WorkshopError, match="at least two"):
        label_words(["0", "1"], "a")


def test_shots_are_balanced_and_excluded():
    rows = [(f"s{i}", "acceptable" if i % 3 else "unacceptable") for i in range(12)]
    shots, rest = pick_shots(rows, 4, seed=0)
    assert sorted(w for _, w in shots) == ["acceptable", "acceptable", "unacceptable", "unacceptable"]
    assert len(rest) == 8 and not set(shots) & set(rest)
    assert pick_shots(rows, 4, seed=0) == (shots, rest)  # deterministic
    with pytest.raises(WorkshopError, match="--shots 20"):
        pick_shots(rows, 20, seed=0)


def test_template_prompt_and_label_tokens():
    template = load_template("cola")
    prompt = build_prompt(template, ["acceptable", "unacceptable"], [("A cat sat.", "acceptable")], "Sat cat a.")
    assert prompt.endswith("A cat sat. - acceptable\nSat cat a. - ")
    assert "acceptable or unacceptable" in prompt
    vocab = {"x": 1, " -": 2, " acceptable": 3, " unacceptable": 4, " ": 5}

    def encode(text: str) -> list[int]:  # a toy tokenizer: words carry their leading space, as in GPT-2 BPE
        return [vocab[piece] for piece in re.findall(r" ?\S+| ", text)]

    context, firsts = label_tokens(encode, "x - ", ["acceptable", "unacceptable"])
    assert context == [1, 2]  # the trailing space moved to the label word
    assert firsts == [3, 4]
    with pytest.raises(WorkshopError, match="--prompt 'nope'"):
        load_template("nope")


def test_perplexity_texts_and_windows(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a"}\n{"body": "b"}\n', encoding="utf-8")
    with pytest.raises(WorkshopError, match="entry 2 has no 'text' key"):
        read_texts(path)
    path.write_text('{"text": "a"}\n{"text": "b c"}\n', encoding="utf-8")
    assert read_texts(path) == ["a", "b c"]
    assert windows(list(range(10)), 4) == [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8], [8, 9]]
    assert sum(len(w) - 1 for w in windows(list(range(10)), 4)) == 9  # every token after the first predicted once
