"""Writing an output file whole or not at all: every command's `-o` goes through here.

The text is written to a sibling `NAME.tmp` and renamed over the target only once it is
complete, so a full disk, a kill or an error mid-write leaves the old file as it was and
no half file behind. A target that exists and is not a regular file (`-o /dev/stdout`, a
named pipe) is written in place: renaming over it would replace the device or pipe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from localthink.errors import LocalthinkError


@contextlib.contextmanager
def atomic_write(path: Path | str, newline: str | None = None) -> Iterator[TextIO]:
    path = Path(path)
    if path.exists() and not path.is_file():
        try:
            with path.open("w", encoding="utf-8", newline=newline) as f:
                yield f
        except OSError as exc:
            raise LocalthinkError(f"{path}: cannot write ({exc.strerror or exc})") from None
        return
    if not path.parent.is_dir():
        raise LocalthinkError(f"{path}: no such directory {path.parent}")
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline=newline) as f:
            yield f
        tmp.replace(path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            kept = "the old file is kept" if path.exists() else "nothing was written"
            raise LocalthinkError(f"{path}: cannot write ({exc.strerror or exc}); {kept}") from None
        raise


def write_text(path: Path | str, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text)
