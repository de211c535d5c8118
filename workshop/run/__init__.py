"""Orchestration: the job table, LitGPT recipes and pipelines."""
