"""Resumable download of one Hub file into the standard Hugging Face cache layout.

Written by hand because huggingface_hub (>= 1.x) downloads into a per-process
temporary file and deletes it when interrupted, so a Ctrl+C or a dropped
connection loses everything fetched so far. Here the partial blob is kept and
the next attempt asks only for the missing bytes (HTTP Range). URLs, auth
headers, metadata and the cache layout are huggingface_hub's own, so files
pulled here are found by `try_to_load_from_cache` and by every HF tool.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

CHUNK = 1 << 20


def repo_folder(cache: Path, repo: str) -> Path:
    return cache / f"models--{repo.replace('/', '--')}"


def partial_path(cache: Path, repo: str, etag: str) -> Path:
    return repo_folder(cache, repo) / "blobs" / f"{etag}.localthink-partial"


class TransferError(OSError):
    """The connection failed or dropped; what arrived is kept for the next attempt."""


def download(
    url: str,
    cache: Path,
    repo: str,
    filename: str,
    etag: str,
    commit: str,
    size: int,
    revision: str = "main",
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Fetch (or finish fetching) a file; return its snapshot path in the cache."""
    folder = repo_folder(cache, repo)
    blob = folder / "blobs" / etag
    part = partial_path(cache, repo, etag)
    blob.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if have > size:  # not a prefix of this file: start over
        part.unlink()
        have = 0
    if have < size:  # a partial that is already whole (killed before the rename) needs no GET
        try:
            _fetch(url, part, have, size, filename, progress, on_progress)
        except Exception as exc:  # the HTTP client's errors are not OSErrors
            if isinstance(exc, OSError):
                raise
            if type(exc).__module__.startswith("httpx"):  # httpx or hub 2.x's httpx2
                response = getattr(exc, "response", None)
                if response is not None and response.status_code >= 400:
                    raise TransferError(
                        f"the server answered HTTP {response.status_code}"
                    ) from None
                raise TransferError(f"connection lost: {type(exc).__name__}") from None
            raise
    if part.stat().st_size != size:
        raise OSError(f"got {part.stat().st_size} of {size} bytes")
    part.replace(blob)
    snapshot = folder / "snapshots" / commit / filename
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.unlink(missing_ok=True)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / revision).write_text(commit)
    return snapshot


def _fetch(
    url: str,
    part: Path,
    have: int,
    size: int,
    filename: str,
    progress: bool,
    on_progress: Callable[[int, int], None] | None,
) -> None:
    """Append the bytes from `have` on to the partial file, with a progress bar."""
    from huggingface_hub.utils import build_hf_headers, get_session

    headers = build_hf_headers(token=os.environ.get("HF_TOKEN"))
    if have:
        headers["Range"] = f"bytes={have}-"
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, disable=not progress, transient=False) as bar,
        get_session().stream(
            "GET", url, headers=headers, follow_redirects=True, timeout=60
        ) as response,
    ):
        response.raise_for_status()
        if have and response.status_code != 206:  # server ignored the Range: start over
            have = 0
        task = bar.add_task(filename, total=size, completed=have)
        with part.open("ab" if have else "wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                bar.advance(task, len(chunk))
                have += len(chunk)
                if on_progress:  # may raise to cancel: what arrived stays for a resume
                    on_progress(have, size)
