"""Evaluations of LitGPT checkpoints: MMLU through lm-eval, label-word classification, perplexity.

`mmlu.evaluate`, `classify.classify` and `perplexity.perplexity` are the Python API behind
`workshop eval`. lm-eval imports transformers, which would also import TensorFlow when it
is installed (seconds per run); evaluations need PyTorch only, so that is switched off here.
"""

import os

os.environ.setdefault("USE_TF", "0")
