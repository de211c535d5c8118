"""Score every (entry, key) response with a judge: the Python API behind `workshop judge`.

`score(entries, keys, judge=..., mode=...)` returns one record per entry and key plus the
summary; `score_file(path, keys, ...)` reads the data, writes the outputs and returns the
summary. The judge is opened once here (`judges.as_judge`) and handed to one of three
siblings: one judge (`pointwise.py`), several judges as a panel (`panel.py`), or two keys head
to head (`pairwise.py`). Records carry reference metrics too, and the summary says how far the
judge can be trusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

from workshop.core.errors import WorkshopError
from workshop.core.io import read_records
from workshop.core.types import ExistingFile, NonNegativeFloat, OutputDir, PositiveInt
from workshop.judge.judges import DEFAULT_JUDGE, as_judge
from workshop.judge.pairwise import pairwise as compare_pair
from workshop.judge.panel import score_panel
from workshop.judge.pointwise import score_with
from workshop.models.remote import RemoteOptions, is_url

JudgeSpec = Any  # a checkpoint dir or repo id, a server URL, a `workshop.models.protocol.Model`, a `Judge`,
# or a function from prompts to written answers


def score(
    entries: Sequence[dict],
    keys: Sequence[str],
    judge: JudgeSpec | Sequence[JudgeSpec] = DEFAULT_JUDGE,
    mode: str = "auto",
    batch_size: int = 8,
    out_dir: str | Path | None = None,
    template: str | Path | None = None,
    reference_key: str = "output",
    max_new_tokens: int = 50,
    temperature: float = 0.0,
    seed: int | None = None,
    source: str = "<entries>",
    progress: bool = True,
    remote: RemoteOptions | None = None,
    devices: int = 1,
    num_nodes: int = 1,
) -> tuple[list[dict], dict]:
    """Judge `entry[key]` for every entry and key: (records in entry order, summary).

    `judge` may be a list: a panel of judges (`workshop.judge.panel`). `template` is a template
    file (default: the workshop's prompt; entries without `reference_key` get its no-reference
    twin). Generation settings (`max_new_tokens`, `temperature`, `seed`) apply to generate mode only.
    A judge given as an http(s):// URL is an OpenAI-compatible server (`remote` says how to reach
    it); `devices` x `num_nodes` > 1 splits the items across ranks (`workshop.judge.sharded`).
    """
    if isinstance(judge, (list, tuple)):
        if len(judge) != 1:
            return score_panel(entries, keys, [as_judge(j, remote) for j in judge], mode=mode, batch_size=batch_size,
                               out_dir=out_dir, template=template, reference_key=reference_key,
                               max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, source=source,
                               progress=progress)
        judge = judge[0]
    return score_with(as_judge(judge, remote), entries, keys, mode=mode, batch_size=batch_size, out_dir=out_dir,
                      template=template, reference_key=reference_key, max_new_tokens=max_new_tokens,
                      temperature=temperature, seed=seed, source=source, progress=progress, devices=devices,
                      num_nodes=num_nodes)


def default_out_dir(data_path: str | Path) -> Path:
    """`<data dir>/<data stem>-judge`: outputs land beside the data they judge."""
    data_path = Path(data_path)
    return data_path.with_name(f"{data_path.stem}-judge")


def score_file(
    data: ExistingFile,
    keys: list[str],
    judge: str | list[str] = DEFAULT_JUDGE,
    mode: Literal["auto", "logits", "generate"] = "auto",
    pairwise: bool = False,
    reference_key: str = "output",
    batch_size: PositiveInt = 8,
    out_dir: OutputDir | None = None,
    template: Path | None = None,
    limit: PositiveInt | None = None,
    max_new_tokens: PositiveInt = 50,
    temperature: NonNegativeFloat = 0.0,
    seed: int | None = None,
    progress: bool = True,
    remote: RemoteOptions = RemoteOptions(),
    devices: PositiveInt = 1,
    num_nodes: PositiveInt = 1,
    audit: bool = False,
    audit_items: PositiveInt = 24,
    judged: list[str] | None = None,
) -> dict | None:
    """Score responses 0..100 with an LLM judge (logits or generate mode), with statistics and plots.

    Writes scores.jsonl, summary.json, summary.md, scores.png and paired.png into `out_dir`
    and resumes an interrupted run from its cache; returns the summary. The summary holds
    reference metrics (exact match, token F1, ROUGE-L) and the judge's reliability.

    Args:
        data: JSON list (or JSONL) of entries with instruction/input/output and the responses
        keys: response field(s) to judge; give --key twice to compare two (e.g. before/after)
        judge: judge checkpoint dir, repo id, smollm2-135m-instruct (offline), or an OpenAI-compatible server's
            URL (e.g. http://127.0.0.1:11434/v1 with --served-model llama3); give --judge twice or more for a panel
        mode: logits reads the probability of every score (local judges); generate parses a written score
        pairwise: compare the two --key responses head to head, in both orders (A/B), instead of scoring each
        reference_key: field with the correct answer, for exact match / token F1 / ROUGE-L and the template's {output}
        batch_size: items per forward pass / generation batch
        out_dir: output folder (default: <data dir>/<data stem>-judge)
        template: prompt template file with {instruction} {input} {output} {response} (pairwise: {response_a}
            {response_b}); default: the workshop's (evals/judge/workshop.txt or pairwise.txt)
        limit: judge only the first N entries
        max_new_tokens: generate mode: answer length limit
        temperature: generate mode: 0 = greedy
        seed: generate mode: sampling seed when temperature > 0
        progress: show a progress bar
        remote: with a URL: --served-model, --api-key-env, --concurrency, --request-timeout, --retries,
            --top-logprobs (logits mode reads that many alternatives; it needs every score to be one token)
        devices: processes (GPUs, or CPU processes) that split the items, through Lightning Fabric
        num_nodes: machines, each running the same command with --devices processes
        audit: probe the judge with injections, padding and formatting changes (pairwise: the position swap);
            writes audit.jsonl and summary.json["audit"] (evals/judge/README.md, "Audit")
        audit_items: audit: at most this many answers per probe (the first in entry order)
        judged: the model(s) that wrote the responses: the summary warns when the judge shares their base model
            or tokenizer (self-preference)
    """
    from workshop.judge.audit import audit_pairwise, audit_pointwise, check_auditable
    from workshop.judge.self_preference import self_preference_note
    from workshop.judge.summary import write_audit

    if audit:
        check_auditable(judge)
    entries = read_records(data)
    if limit is not None:
        entries = entries[:limit]
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(data)
    options = dict(mode=mode, batch_size=batch_size, out_dir=out_dir, template=template, reference_key=reference_key,
                   max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, source=str(data),
                   progress=progress)
    if pairwise:
        judges = [judge] if isinstance(judge, str) else judge
        if len(judges) != 1:
            raise WorkshopError(f"--pairwise takes one --judge (got {len(judges)}); run one pairwise job per judge")
        if is_url(judges[0]) or devices * num_nodes > 1:
            raise WorkshopError("--pairwise runs on one local judge checkpoint; drop the server URL and --devices")
        rows, summary = compare_pair(entries, keys, judge=judges[0], **options)
        audit_rows = audit_pairwise(rows, summary, template) if audit else None
    else:
        records, summary = score(entries, keys, judge=judge, remote=remote, devices=devices, num_nodes=num_nodes,
                                 **options)
        if summary is None:  # a node other than the first of a multi-node run
            return None
        generation = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
        audit_rows = audit_pointwise(entries, records, keys, judge, remote, summary, template, reference_key,
                                     batch_size, out_dir, progress, audit_items, generation) if audit else None
    note = self_preference_note(judge, judged or [])
    summary["notes"] += [note] if note else []
    if audit or note:
        write_audit(out_dir, summary, audit_rows)
    return summary
