"""The one line `workshop serve` prints once it answers requests: "listening on http://HOST:PORT/v1 (model NAME)".

LitServe starts its HTTP side only after the model worker has loaded, and its /health answers
200 only then; a background thread of the main process asks /health (with the API key, when
one is required) and prints the line the first time it does.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request

LOCAL = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # where this machine reaches a server bound to every interface


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def announce_when_ready(host: str, port: int, name: str, api_key_env: str | None) -> threading.Thread:
    """Start the thread that prints the listening line once http://HOST:PORT/health answers 200."""
    key = os.environ.get(api_key_env) if api_key_env else None
    probe = urllib.request.Request(f"http://{url_host(LOCAL.get(host, host))}:{port}/health",
                                   headers={"Authorization": f"Bearer {key}"} if key else {})

    def wait() -> None:
        while True:
            try:
                with urllib.request.urlopen(probe, timeout=2) as reply:
                    if reply.status == 200:
                        print(f"workshop serve: listening on http://{url_host(host)}:{port}/v1 (model {name})",
                              file=sys.stderr, flush=True)
                        return
            except OSError:
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=wait, name="announce-ready", daemon=True)
    thread.start()
    return thread
