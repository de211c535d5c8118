"""`workshop serve`: an OpenAI-compatible server over the toolkit's loader and batched KV-cache engine.

`protocol` (the wire format, request checks), `prompts` (requests -> token ids, as `workshop
generate` builds them), `rows` (a batch of requests decoded together) and `api` (the LitServe
spec and model worker). The verb itself is `workshop.run.serve.serve`.
"""
