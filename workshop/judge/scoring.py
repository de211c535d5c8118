"""Score every (entry, key) response with a judge: the Python API behind `workshop judge`.

`score(entries, keys, judge=..., mode=...)` returns one record per entry and key plus the
summary; `score_file(path, keys, ...)` reads the data, writes the outputs and returns the
summary. With an `out_dir` every finished judgement is cached as it completes, so a killed
run resumes where it stopped. Records carry reference metrics too, and the summary says how
far the judge can be trusted. Several judges make a panel (`panel.py`); `pairwise=True`
compares two keys head to head (`pairwise.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from workshop.core.errors import WorkshopError
from workshop.core.io import read_records
from workshop.judge.cache import cache_key, judge_cached
from workshop.judge.entries import check_entries, reference_notes, score_record
from workshop.judge.generate_mode import generate_scores
from workshop.judge.prompt import build_prompt, judge_template, prompt_hash
from workshop.judge.reference import reference_of
from workshop.judge.summary import build_summary, write_outputs
from workshop.models.remote import RemoteModel, RemoteOptions, is_url
from workshop.core.types import ExistingFile, NonNegativeFloat, OutputDir, PositiveInt

DEFAULT_JUDGE = "meta-llama/Meta-Llama-3-8B-Instruct"
MODES = ("auto", "logits", "generate")
Judge = Any  # a checkpoint dir or repo id, a server URL, a loaded `workshop.models.llm.LoadedModel`, a `RemoteModel`,
# or a callable prompts -> answers


def judge_name(judge: Judge) -> str:
    """The judge's id in records, summary and cache keys (found without loading anything)."""
    from workshop.models.llm import LoadedModel

    if isinstance(judge, LoadedModel):
        return str(judge.checkpoint_dir)
    if isinstance(judge, RemoteModel):
        return f"{judge.identity} (top_logprobs {judge.options.top_logprobs})"
    if callable(judge):
        return getattr(judge, "__qualname__", type(judge).__name__)
    return str(judge)


def load_judge(judge: Judge) -> Any:
    """A checkpoint dir or repo id is resolved and loaded; a loaded model or a callable passes through."""
    if not isinstance(judge, (str, Path)):
        return judge
    from workshop.models.checkpoints import SMOLLM2_ALIAS, resolve_checkpoint
    from workshop.models.llm import load

    try:
        return load(resolve_checkpoint(judge, build=True))
    except WorkshopError as e:
        if str(judge) != DEFAULT_JUDGE:
            raise
        online = str(e).replace(f" (offline: `workshop download {SMOLLM2_ALIAS}`)", "")
        raise WorkshopError(f"the default judge: {online}; offline, pass --judge {SMOLLM2_ALIAS} "
                            "(a 135M judge: weak, and its summary says how weak)") from None


def resolve_mode(mode: str, judge: Judge) -> str:
    """`auto` is logits for a local LitGPT judge, generate for a text-only (callable) judge."""
    if mode not in MODES:
        raise WorkshopError(f"--mode {mode!r} is not known; use one of: {', '.join(MODES)}")
    if isinstance(judge, RemoteModel):  # logits if the server can give them, else generate (saying so)
        from workshop.judge.remote import resolve_remote_mode

        return resolve_remote_mode(judge, mode)
    local = not callable(judge)  # a checkpoint name/dir or a loaded model
    if mode == "logits" and not local:
        raise WorkshopError("--mode logits needs a local LitGPT judge checkpoint; use --mode generate")
    if mode == "auto":
        return "logits" if local else "generate"
    return mode


def answerer(judge: Any, batch_size: int, generation: dict) -> Callable[[list[str]], list[str]]:
    """The judge as a function from prompts to its written answers (generate mode)."""
    if callable(judge):
        return judge

    def answer(prompts: list[str]) -> list[str]:
        return judge.generate_batch(prompts, batch_size=batch_size, **generation)

    return answer


def make_scorer(judge: Any, mode: str, batch_size: int, generation: dict) -> Callable[[list[str]], list[dict]]:
    """A function from a batch of prompts to result dicts (score, raw, reason, argmax, valid_mass)."""
    if mode == "logits" and isinstance(judge, RemoteModel):
        from workshop.judge.remote import logits_scorer

        return logits_scorer(judge)
    if mode == "logits":
        from workshop.judge.logits import build_tree, score_probs, summarize

        tree = build_tree(judge)

        def by_logits(prompts: list[str]) -> list[dict]:
            return [{"raw": None, **summarize(row)} for row in score_probs(judge, prompts, tree)]

        return by_logits
    answer = answerer(judge, batch_size, generation)

    def by_generation(prompts: list[str]) -> list[dict]:
        return [{**r, "argmax": None, "valid_mass": None} for r in generate_scores(answer, prompts)]

    return by_generation


def score(
    entries: Sequence[dict],
    keys: Sequence[str],
    judge: Judge | Sequence[Judge] = DEFAULT_JUDGE,
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
    it); `devices` x `num_nodes` > 1 splits the items across ranks (`workshop.models.distributed`).
    """
    if isinstance(judge, (list, tuple)):
        if len(judge) != 1:
            from workshop.judge.panel import score_panel

            return score_panel(entries, keys, judge, mode=mode, batch_size=batch_size, out_dir=out_dir,
                               template=template, reference_key=reference_key, max_new_tokens=max_new_tokens,
                               temperature=temperature, seed=seed, source=source, progress=progress)
        judge = judge[0]
    judge = RemoteModel(judge, remote) if is_url(judge) else judge
    if batch_size < 1:
        raise WorkshopError(f"--batch-size {batch_size}: must be at least 1")
    keys = list(dict.fromkeys(keys))
    tmpl = judge_template(template)
    check_entries(entries, keys, tmpl, reference_key, source)
    items = [(i, key, build_prompt(entry, key, tmpl.for_entry(reference_of(entry, reference_key) is not None),
                                   reference_key)) for i, entry in enumerate(entries) for key in keys]
    judge_id, mode = judge_name(judge), resolve_mode(mode, judge)
    generation = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
    settings = generation if mode == "generate" else {}
    item_keys = [cache_key(judge_id, mode, settings, prompt) for _, _, prompt in items]

    def scorer() -> Callable[[list[str]], list[dict]]:
        judge_scores = make_scorer(load_judge(judge), mode, batch_size, generation)
        return lambda prompts: [{"mode": mode, "prompt_hash": prompt_hash(p), **r}
                                for p, r in zip(prompts, judge_scores(prompts))]

    def sharded(todo: list[str], prompts: list[str]) -> list[dict] | None:  # ranks judge shares, each resumable
        from workshop.models.distributed import judge_sharded

        results = judge_sharded(judge, mode, batch_size, generation, todo, prompts, out_dir, devices, num_nodes)
        return None if results is None else [{"mode": mode, "prompt_hash": prompt_hash(p), **r}
                                             for p, r in zip(prompts, results)]

    def finish() -> None:
        from workshop.models.distributed import finish_rank_logs

        finish_rank_logs(out_dir, devices, num_nodes)

    results = judge_cached(dict(zip(item_keys, (p for _, _, p in items))), scorer, out_dir, batch_size,
                           f"judge ({mode})", progress, shard=sharded if devices * num_nodes > 1 else None,
                           after_shard=finish)
    if results is None:  # a node other than the first: rank 0 writes the outputs
        return [], None
    records = [score_record(entries[i], i, key, results[k], reference_key) for (i, key, _), k in zip(items, item_keys)]
    summary = build_summary(records, keys, judge_id, mode, reference_key, reference_notes(entries, tmpl, reference_key))
    if out_dir is not None:
        write_outputs(out_dir, records, summary)
    return records, summary


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
        from workshop.judge.pairwise import pairwise as compare

        judges = [judge] if isinstance(judge, str) else judge
        if len(judges) != 1:
            raise WorkshopError(f"--pairwise takes one --judge (got {len(judges)}); run one pairwise job per judge")
        if is_url(judges[0]) or devices * num_nodes > 1:
            raise WorkshopError("--pairwise runs on one local judge checkpoint; drop the server URL and --devices")
        rows, summary = compare(entries, keys, judge=judges[0], **options)
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
