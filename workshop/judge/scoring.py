"""Score every (entry, key) response with a judge: the Python API behind `workshop judge`.

`score(entries, keys, judge=..., mode=...)` returns one record per entry and key plus the
summary; `score_file(path, keys, ...)` reads the data, writes the outputs and returns the
summary. With an `out_dir` every finished judgement is cached as it completes, so a killed
run resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from tqdm.auto import tqdm

from workshop.errors import WorkshopError
from workshop.io import read_records
from workshop.judge.cache import ScoreCache, cache_key
from workshop.judge.generate_mode import generate_scores
from workshop.judge.prompt import build_prompt, load_template, prompt_hash, template_fields
from workshop.judge.summary import build_summary, write_outputs
from workshop.remote import RemoteModel, RemoteOptions, is_url
from workshop.types import ExistingFile, NonNegativeFloat, PositiveInt

DEFAULT_JUDGE = "meta-llama/Meta-Llama-3-8B-Instruct"
MODES = ("auto", "logits", "generate")
Judge = Any  # a checkpoint dir or repo id, a server URL, a loaded `workshop.llm.LoadedModel`, a `RemoteModel`,
# or a callable prompts -> answers


def check_entries(entries: Sequence[Any], keys: Sequence[str], template: str, source: str) -> None:
    """Fail in one line, naming the entry and key, when the data cannot fill the prompt."""
    if not keys:
        raise WorkshopError(f"{source}: no response key given; pass --key with the field to judge")
    if not entries:
        raise WorkshopError(f"{source}: no entries to judge")
    needed = [*keys, *template_fields(template)]
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise WorkshopError(f"{source}: entry {i} is a {type(entry).__name__}, expected an object with {needed}")
        for key in needed:
            if key not in entry:
                have = ", ".join(sorted(entry)) or "none"
                raise WorkshopError(f"{source}: entry {i} has no key {key!r} (its keys: {have}); fix the data or --key")
            if key in keys and not isinstance(entry[key], str):
                raise WorkshopError(
                    f"{source}: entry {i} key {key!r} is a {type(entry[key]).__name__}, expected the response text"
                )


def judge_name(judge: Judge) -> str:
    """The judge's id in records, summary and cache keys (found without loading anything)."""
    from workshop.llm import LoadedModel

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
    from workshop.checkpoints import resolve_checkpoint
    from workshop.llm import load

    return load(resolve_checkpoint(judge, build=True))


def resolve_mode(mode: str, judge: Judge) -> str:
    """`auto` is logits for a local LitGPT judge, generate for a text-only (callable) judge."""
    if mode not in MODES:
        raise WorkshopError(f"--mode {mode!r} is not known; use one of: {', '.join(MODES)}")
    if isinstance(judge, RemoteModel):  # logits if the server can give them, else generate (saying so)
        from workshop.remote_judge import resolve_remote_mode

        return resolve_remote_mode(judge, mode)
    local = not callable(judge)  # a checkpoint name/dir or a loaded model
    if mode == "logits" and not local:
        raise WorkshopError("--mode logits needs a local LitGPT judge checkpoint; use --mode generate")
    if mode == "auto":
        return "logits" if local else "generate"
    return mode


def make_scorer(judge: Any, mode: str, batch_size: int, generation: dict) -> Callable[[list[str]], list[dict]]:
    """A function from a batch of prompts to result dicts (score, raw, reason, argmax, valid_mass)."""
    if mode == "logits" and isinstance(judge, RemoteModel):
        from workshop.remote_judge import logits_scorer

        return logits_scorer(judge)
    if mode == "logits":
        from workshop.judge.logits import build_tree, score_probs, summarize

        tree = build_tree(judge)

        def by_logits(prompts: list[str]) -> list[dict]:
            return [{"raw": None, **summarize(row)} for row in score_probs(judge, prompts, tree)]

        return by_logits
    if callable(judge):
        answer = judge
    else:

        def answer(prompts: list[str]) -> list[str]:
            return judge.generate_batch(prompts, batch_size=batch_size, **generation)

    def by_generation(prompts: list[str]) -> list[dict]:
        return [{**r, "argmax": None, "valid_mass": None} for r in generate_scores(answer, prompts)]

    return by_generation


def score(
    entries: Sequence[dict],
    keys: Sequence[str],
    judge: Judge = DEFAULT_JUDGE,
    mode: str = "auto",
    batch_size: int = 8,
    out_dir: str | Path | None = None,
    template: str | Path | None = None,
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

    `template` is a template file (default: the workshop's prompt). Generation settings
    (`max_new_tokens`, `temperature`, `seed`) apply to generate mode only. A judge given as an
    http(s):// URL is an OpenAI-compatible server (`remote` says how to reach it); `devices` x
    `num_nodes` > 1 splits the items across ranks (`workshop.distributed`).
    """
    judge = RemoteModel(judge, remote) if is_url(judge) else judge
    if batch_size < 1:
        raise WorkshopError(f"--batch-size {batch_size}: must be at least 1")
    keys = list(dict.fromkeys(keys))
    template_text = load_template(template)
    check_entries(entries, keys, template_text, source)
    items = [(i, key, build_prompt(entry, key, template_text)) for i, entry in enumerate(entries) for key in keys]
    judge_id, mode = judge_name(judge), resolve_mode(mode, judge)
    generation = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
    settings = generation if mode == "generate" else {}
    item_keys = [cache_key(judge_id, mode, settings, prompt) for _, _, prompt in items]
    cache = ScoreCache(out_dir)
    try:
        prompts = {k: prompt for k, (_, _, prompt) in zip(item_keys, items) if k not in cache}
        todo = sorted(prompts, key=lambda k: len(prompts[k]))  # similar lengths share a batch: less padding
        if todo and devices * num_nodes > 1:  # ranks judge shares of `todo`, each resumable on its own
            from workshop.distributed import finish_rank_logs, judge_sharded

            results = judge_sharded(judge, mode, batch_size, generation, todo, [prompts[k] for k in todo], out_dir,
                                    devices, num_nodes)
            if results is None:  # a node other than the first: rank 0 writes the outputs
                return [], None
            for k, result in zip(todo, results):
                cache.put(k, {"mode": mode, "prompt_hash": prompt_hash(prompts[k]), **result})
            finish_rank_logs(out_dir, devices, num_nodes)
            todo = []
        scorer = make_scorer(load_judge(judge), mode, batch_size, generation) if todo else None  # all cached: no load
        with tqdm(total=len(todo), desc=f"judge ({mode})", unit="items", disable=not progress) as bar:
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                for k, result in zip(batch, scorer([prompts[k] for k in batch])):
                    cache.put(k, {"mode": mode, "prompt_hash": prompt_hash(prompts[k]), **result})
                bar.update(len(batch))
    finally:
        cache.close()
    records = [_record(entries[i], i, key, cache.get(k)) for (i, key, _), k in zip(items, item_keys)]
    summary = build_summary(records, keys, judge_id, mode)
    if out_dir is not None:
        write_outputs(out_dir, records, summary)
    return records, summary


def _record(entry: dict, index: int, key: str, result: dict) -> dict:
    """One output record, fields in the documented order."""
    fields = ("score", "mode", "raw", "reason", "argmax", "valid_mass", "prompt_hash")
    return {"id": entry.get("id", index), "key": key, **{f: result[f] for f in fields}}


def default_out_dir(data_path: str | Path) -> Path:
    """`<data dir>/<data stem>-judge`: outputs land beside the data they judge."""
    data_path = Path(data_path)
    return data_path.with_name(f"{data_path.stem}-judge")


def score_file(
    data: ExistingFile,
    keys: list[str],
    judge: str = DEFAULT_JUDGE,
    mode: Literal["auto", "logits", "generate"] = "auto",
    batch_size: PositiveInt = 8,
    out_dir: Path | None = None,
    template: Path | None = None,
    limit: PositiveInt | None = None,
    max_new_tokens: PositiveInt = 50,
    temperature: NonNegativeFloat = 0.0,
    seed: int | None = None,
    progress: bool = True,
    remote: RemoteOptions = RemoteOptions(),
    devices: PositiveInt = 1,
    num_nodes: PositiveInt = 1,
) -> dict | None:
    """Score responses 0..100 with an LLM judge (logits or generate mode), with statistics and plots.

    Writes scores.jsonl, summary.json, summary.md, scores.png and paired.png into `out_dir`
    and resumes an interrupted run from its cache; returns the summary.

    Args:
        data: JSON list (or JSONL) of entries with instruction/input/output and the responses
        keys: response field(s) to judge; give --key twice to compare two (e.g. before/after)
        judge: judge checkpoint dir, repo id, smollm2-135m-instruct (offline), or an OpenAI-compatible server's
            URL (e.g. http://127.0.0.1:11434/v1 with --served-model llama3)
        mode: logits reads the probability of every score (local judges); generate parses a written score
        batch_size: items per forward pass / generation batch
        out_dir: output folder (default: <data dir>/<data stem>-judge)
        template: prompt template file with {instruction} {input} {output} {response} (default: the workshop's)
        limit: judge only the first N entries
        max_new_tokens: generate mode: answer length limit
        temperature: generate mode: 0 = greedy
        seed: generate mode: sampling seed when temperature > 0
        progress: show a progress bar
        remote: with a URL: --served-model, --api-key-env, --concurrency, --request-timeout, --retries,
            --top-logprobs (logits mode reads that many alternatives; it needs every score to be one token)
        devices: processes (GPUs, or CPU processes) that split the items, through Lightning Fabric
        num_nodes: machines, each running the same command with --devices processes
    """
    entries = read_records(data)
    if limit is not None:
        entries = entries[:limit]
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(data)
    return score(entries, keys, judge=judge, mode=mode, batch_size=batch_size, out_dir=out_dir, template=template,
                 max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, source=str(data),
                 progress=progress, remote=remote, devices=devices, num_nodes=num_nodes)[1]
