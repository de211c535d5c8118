"""Evaluations of LitGPT checkpoints: MMLU through lm-eval, label-word classification, perplexity.

`mmlu.evaluate`, `classify.classify` and `perplexity.perplexity` are the Python API behind
`workshop eval` (`evals.jobs` holds the CLI's MMLU job and the printers). The command sets
USE_TF=0 for transformers (`workshop.cli.main.settings`); from Python with the [tf] extra
installed, set it yourself to skip TensorFlow's import.
"""
