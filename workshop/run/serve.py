"""`workshop serve`: an OpenAI-compatible server over a LitGPT checkpoint, on LitServe."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Literal

from workshop.core.errors import WorkshopError
from workshop.core.types import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt


def served_names(model: str, checkpoint_dir: Path) -> list[str]:
    """The id /v1/models lists first, then the other names a request may use for the same model."""
    org_name = f"{checkpoint_dir.parent.name}/{checkpoint_dir.name}"
    primary = org_name if checkpoint_dir.parent.parent.name == "checkpoints" else checkpoint_dir.name
    return list(dict.fromkeys([primary, model, checkpoint_dir.name, org_name, str(checkpoint_dir)]))


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise WorkshopError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror}); pick another port") from None


def stop_on_sigterm(main_pid: int):
    """A SIGTERM handler: the main process shuts down as on Ctrl+C; forked children just end as usual."""

    def handler(signum: int, frame: object) -> None:
        if os.getpid() == main_pid:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    return handler


def serve(
    model: str,
    host: Literal["127.0.0.1", "0.0.0.0", "::"] = "127.0.0.1",
    port: PositiveInt = 8000,
    served_model_name: str | None = None,
    max_batch_size: PositiveInt = 8,
    batch_timeout: NonNegativeFloat = 0.05,
    max_new_tokens: PositiveInt = 256,
    temperature: NonNegativeFloat = 0.0,
    max_logprobs: NonNegativeInt = 20,
    clamp_max_tokens: bool = False,
    queue_timeout: PositiveFloat | None = None,
    api_key_env: str | None = None,
    device: str | None = None,
    precision: str = "auto",
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "warning",
) -> None:
    """Serve a checkpoint with an OpenAI-compatible API (chat, completions, models; streaming; logprobs).

    Requests that arrive together are decoded together in one KV-cache batch (LitServe's
    batching); a greedy answer equals `workshop generate`'s. Runs until Ctrl+C.

    Args:
        model: checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct
        host: interface to listen on; 127.0.0.1 = this machine only (0.0.0.0 opens it to the network)
        port: TCP port (1024-65535)
        served_model_name: the model id clients send and /v1/models lists (default: org/name of the checkpoint)
        max_batch_size: most requests (choices) decoded together
        batch_timeout: seconds the server waits for a batch to fill before decoding
        max_new_tokens: tokens per reply when a request gives no max_tokens
        temperature: sampling temperature when a request gives none (0 = greedy; OpenAI's own default is 1)
        max_logprobs: most alternatives per token a request may ask for (top_logprobs / logprobs)
        clamp_max_tokens: shorten a max_tokens above the context left after the prompt instead of answering 400 (OpenAI's and vLLM's answer)
        queue_timeout: answer 504 to a request still queued after this many seconds (default: wait)
        api_key_env: environment variable holding the API key clients must send as a Bearer token (default: none)
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        precision: auto (bf16 on a GPU, fp32 on CPU), 32-true, bf16-true, 16-true
        log_level: LitServe's and uvicorn's log level
    """
    import litserve as ls
    import torch

    from workshop.models.checkpoints import resolve_checkpoint
    from workshop.models.device import default_device, resolve_precision
    from workshop.serve.api import ModelAPI, OpenAIEndpoints
    from workshop.serve.ready import announce_when_ready

    if not 1024 <= port <= 65535:
        raise WorkshopError(f"--port {port}: use a port from 1024 to 65535")
    checkpoint_dir = resolve_checkpoint(model, build=True)
    names = served_names(model, checkpoint_dir)
    if served_model_name:
        names.insert(0, served_model_name)
    torch_device = torch.device(device) if device else default_device()
    resolve_precision(precision, torch_device)  # a bad --precision fails here, not in the worker
    check_port_free(host, port)
    spec = OpenAIEndpoints(checkpoint_dir, names, max_new_tokens, temperature, max_logprobs, clamp_max_tokens)
    api = ModelAPI(checkpoint_dir, device, precision, spec, max_batch_size, batch_timeout, api_key_env)
    server = ls.LitServer(api, accelerator="cuda" if torch_device.type == "cuda" else "cpu", devices=1,
                          timeout=queue_timeout if queue_timeout is not None else False)
    print(f"workshop serve: {names[0]} from {checkpoint_dir} (chat/completions, completions, models); "
          "loading the model...", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, stop_on_sigterm(os.getpid()))  # `kill PID` shuts down like Ctrl+C: workers too
    announce_when_ready(host, port, names[0], api_key_env)
    server.run(host=host, port=port, num_api_servers=1, log_level=log_level, generate_client_file=False)
