"""LLM-as-judge: score responses 0..100 with a judge model, deterministically, and check the judge.

`build_prompt` fills the workshop's prompt, `parse_score` reads a written score, `score` /
`score_file` judge a data set in logits mode (the probability of every score, no sampling)
or generate mode (greedy answer + parse + one retry), with reference metrics (exact match,
token F1, ROUGE-L) and the judge's reliability; a list of judges is a panel. `pairwise`
compares two responses in both orders; `agreement` checks scores against labels.
"""

from workshop.judge.agreement import agreement
from workshop.judge.pairwise import pairwise
from workshop.judge.parse import parse_score
from workshop.judge.prompt import build_prompt
from workshop.judge.scoring import DEFAULT_JUDGE, score, score_file

__all__ = ["DEFAULT_JUDGE", "agreement", "build_prompt", "pairwise", "parse_score", "score", "score_file"]
