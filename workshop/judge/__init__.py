"""LLM-as-judge: score responses 0..100 with a judge model, deterministically, with statistics.

`build_prompt` fills the workshop's prompt, `parse_score` reads a written score, `score` /
`score_file` judge a data set in logits mode (the probability of every score, no sampling)
or generate mode (greedy answer + parse + one retry) and summarise the results.
"""

from workshop.judge.parse import parse_score
from workshop.judge.prompt import build_prompt
from workshop.judge.scoring import DEFAULT_JUDGE, score, score_file

__all__ = ["DEFAULT_JUDGE", "build_prompt", "parse_score", "score", "score_file"]
