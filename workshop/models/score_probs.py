"""An in-process model's probability of replying with each whole number 0..100 (the judge's logits mode).

The prompt goes through the model's chat template; the scores are the token sequences the
model would write right after the assistant header. When each of "0".."100" is one token
(Llama 3), one forward per item gives every P(score) at the last prompt position. When
numbers split into digits (SmolLM2: "85" -> "8", "5"), the scores form a digit tree, and

    P(s) = prod_k P(token_k | prompt, tokens_<k) * P(end | prompt, s),

where P(end) = 1 - P(next token starts with a digit), so "8" does not also count "85".
All 101 tree nodes go after the prompt in ONE sequence with a tree attention mask (each
node sees the prompt, its ancestors and itself; its RoPE position is prompt_len + depth - 1),
so the prompt is computed once and each item needs a single forward pass.

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from workshop.models.engine import forward_masked, right_pad, tail_logits
from workshop.core.errors import WorkshopError

SCORES = range(101)


@dataclass(frozen=True)
class ScoreTree:
    """The token trie of the scores "0".."100" for one tokenizer."""

    tokens: torch.Tensor  # (N,) token id of each node
    parents: torch.Tensor  # (N,) index of the parent node, -1 under the prompt
    depths: torch.Tensor  # (N,) 1 for first tokens
    ancestors: torch.Tensor  # (N, N) bool, [k, j]: node j is node k or one of its ancestors
    score_nodes: torch.Tensor  # (101,) node where each score's tokens end
    digit_tokens: torch.Tensor  # (D,) ids of tokens whose text starts with a digit

    @property
    def single_token(self) -> bool:
        """True when every score is one token: the first position alone gives P(score)."""
        return bool((self.depths == 1).all())


def score_token_ids(lm) -> list[tuple[int, ...]]:
    """Token ids of "0".."100" as the model writes them right after its assistant header."""
    prefix_text = lm.chat_prompt("Score:")
    prefix = lm.encode(prefix_text)
    sequences = []
    for s in SCORES:
        full = lm.encode(prefix_text + str(s))
        if full[: len(prefix)] == prefix:
            sequences.append(tuple(full[len(prefix) :]))
        else:  # the header's last token merged with the digits: fall back to the bare number
            sequences.append(tuple(lm.encode(str(s), bos=False)))
    if len(set(sequences)) != len(sequences) or not all(sequences):
        raise WorkshopError(f"{lm.checkpoint_dir}: the tokenizer does not give the scores 0..100 distinct tokens")
    return sequences


def digit_token_ids(lm) -> list[int]:
    """Ids of vocabulary tokens whose text starts with a digit (they would extend a number)."""
    n = lm.tokenizer.vocab_size
    return [i for i in range(n) if lm.decode([i])[:1].isdigit()]


def build_tree(lm) -> ScoreTree:
    """The score trie for `lm`'s tokenizer (digit tokens are listed only when needed)."""
    sequences = score_token_ids(lm)
    nodes: dict[tuple[int, ...], int] = {}
    for seq in sequences:
        for depth in range(1, len(seq) + 1):
            nodes.setdefault(seq[:depth], len(nodes))
    order = list(nodes)  # insertion order: a parent always comes before its children
    n = len(order)
    ancestors = torch.zeros(n, n, dtype=torch.bool)
    for k, path in enumerate(order):
        for depth in range(1, len(path) + 1):
            ancestors[k, nodes[path[:depth]]] = True
    single = all(len(p) == 1 for p in order)
    return ScoreTree(
        tokens=torch.tensor([p[-1] for p in order]),
        parents=torch.tensor([nodes[p[:-1]] if len(p) > 1 else -1 for p in order]),
        depths=torch.tensor([len(p) for p in order]),
        ancestors=ancestors,
        score_nodes=torch.tensor([nodes[seq] for seq in sequences]),
        digit_tokens=torch.tensor([] if single else digit_token_ids(lm), dtype=torch.long),
    )


def _single_token_probs(model, ids: Sequence[Sequence[int]], tree: ScoreTree) -> torch.Tensor:
    """(B, 101) P(score) from one causal forward of the right-padded prompts."""
    last = torch.cat(tail_logits(model, ids, [1] * len(ids)))  # (B, V) at each prompt's last position
    probs = last.softmax(dim=-1)
    return probs[:, tree.tokens.to(probs.device)[tree.score_nodes.to(probs.device)]]


def tree_inputs(ids: Sequence[Sequence[int]], tree: ScoreTree, device: torch.device):
    """idx, positions (B, T) and the tree mask (B, 1, T, T) for prompts followed by all nodes."""
    n = len(tree.tokens)
    T = max(len(r) for r in ids) + n
    idx = right_pad([list(r) + tree.tokens.tolist() for r in ids], device, T)
    positions = torch.zeros(len(ids), T, dtype=torch.long, device=device)
    mask = torch.eye(T, dtype=torch.bool, device=device).repeat(len(ids), 1, 1, 1)  # padding sees itself only
    causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    for b, row in enumerate(ids):
        L = len(row)
        positions[b, :L] = torch.arange(L, device=device)
        positions[b, L : L + n] = L + tree.depths.to(device) - 1
        mask[b, 0, :L, :L] = causal[:L, :L]
        mask[b, 0, L : L + n, :L] = True
        mask[b, 0, L : L + n, L : L + n] = tree.ancestors.to(device)
    return idx, positions, mask


@torch.inference_mode()
def _tree_probs(model, ids: Sequence[Sequence[int]], tree: ScoreTree) -> torch.Tensor:
    """(B, 101) P(score) from one tree-masked forward per batch of prompts."""
    device = model.lm_head.weight.device
    idx, positions, mask = tree_inputs(ids, tree, device)
    logits = forward_masked(model, idx, positions, mask)  # (B, T, V)
    n = len(tree.tokens)
    lengths = torch.tensor([len(r) for r in ids], device=device)
    cols = torch.cat([lengths[:, None] - 1, lengths[:, None] + torch.arange(n, device=device)], dim=1)  # (B, 1+N)
    logp = logits[torch.arange(len(ids), device=device)[:, None], cols].float().log_softmax(dim=-1)  # (B, 1+N, V)
    step = logp[:, tree.parents.to(device) + 1, tree.tokens.to(device)]  # (B, N): log P(node token | its context)
    path = step @ tree.ancestors.to(device=device, dtype=step.dtype).T  # (B, N): log P(node's whole prefix)
    p_digit = logp[:, 1:, tree.digit_tokens.to(device)].exp().sum(dim=-1)  # (B, N)
    p_end = (1.0 - p_digit).clamp_min(0.0)
    return (path.exp() * p_end)[:, tree.score_nodes.to(device)]


def score_probs(lm, prompts: Sequence[str], tree: ScoreTree) -> torch.Tensor:
    """(B, 101) the model's probability of answering each score to each prompt (chat-templated)."""
    ids = [lm.encode(lm.chat_prompt(p)) for p in prompts]
    extra = 0 if tree.single_token else len(tree.tokens)
    longest = max(len(r) for r in ids) + extra
    if longest > lm.config.block_size:
        raise WorkshopError(
            f"a judge prompt needs {longest} positions, the judge's context is {lm.config.block_size}; "
            "shorten the responses or use a judge with a longer context"
        )
    if tree.single_token:
        return _single_token_probs(lm.model, ids, tree).cpu()
    return _tree_probs(lm.model, ids, tree).cpu()
