"""The one downloader: a file over HTTP(S) with a progress bar, resume and size/sha256 checks.

The bytes go to `<name>.part` first and are renamed when complete, so a file that exists is
whole. A second call after an interruption asks the server for the missing bytes only
(HTTP Range); a server that ignores Range sends everything again, which also works.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from tqdm.auto import tqdm

from workshop.core.errors import WorkshopError

CHUNK_BYTES = 1 << 20


def is_url(text: str) -> bool:
    """True for http:// and https:// addresses."""
    return text.startswith(("http://", "https://"))


def reachable(url: str, timeout: float = 5.0) -> bool:
    """True when a TCP connection to `url`'s host and port opens (a fast "are we online?" probe)."""
    parsed = urlparse(url if "://" in url else f"https://{url}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open(url: str, start: int, timeout: float, destination: Path):
    """Open `url`, asking for the bytes from `start` on; network failures become one-line errors."""
    headers = {"User-Agent": "workshop", **({"Range": f"bytes={start}-"} if start else {})}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416:  # nothing left to send: the partial file is stale, start over
            return None
        raise WorkshopError(f"download of {url} failed: HTTP {e.code} {e.reason}; check the URL") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise WorkshopError(
            f"cannot reach {url} ({reason}); check your network connection, or put the file at {destination}"
        ) from None


def _total_size(response, start: int) -> int | None:
    """Full file size from Content-Range (partial reply) or Content-Length (full reply)."""
    content_range = response.headers.get("Content-Range")
    if response.status == 206 and content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def cached_download(url: str, sha256: str | None = None, progress: bool = True) -> Path:
    """`url` fetched once into the workshop's cache folder (keyed by the URL), checked against `sha256`."""
    from workshop.core.paths import cache_dir

    key = hashlib.sha1(url.encode()).hexdigest()[:12]
    return download_file(url, cache_dir() / "downloads" / f"{key}-{Path(urlparse(url).path).name}", sha256, progress=progress)


def download_file(
    url: str, destination: str | os.PathLike, sha256: str | None = None, timeout: float = 30.0, progress: bool = True
) -> Path:
    """Fetch `url` to `destination` (skipped when it exists and matches `sha256`); returns the path."""
    destination = Path(destination)
    if destination.is_file():
        if sha256 is None or sha256_of(destination) == sha256:
            return destination
        destination.unlink()  # a corrupted cache entry: fetch it again
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    response = _open(url, start, timeout, destination)
    if response is None:
        part.unlink()
        start, response = 0, _open(url, 0, timeout, destination)
    with response:
        if response.status != 206:
            start = 0  # the server sent the whole file
        total = _total_size(response, start)
        bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=destination.name, disable=not progress)
        try:
            with open(part, "ab" if start else "wb") as f, bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    f.write(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as e:
            raise WorkshopError(f"download of {url} was interrupted ({e}); run the same command again to resume") from None
    size = part.stat().st_size
    if total is not None and size != total:
        raise WorkshopError(f"download of {url} stopped at {size:,} of {total:,} bytes; run again to resume")
    if sha256 is not None and sha256_of(part) != sha256:
        part.unlink()
        raise WorkshopError(f"{url}: sha256 differs from the expected {sha256}; the file changed upstream or is corrupt")
    os.replace(part, destination)
    return destination
