"""The one training checkpoint of a run, replaced whole or not at all.

Training and GRPO write their next checkpoint into `checkpoint.tmp` and swap it in only
once it is complete, so a kill or a full disk mid-save keeps the last good one for
`--resume`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from localthink.errors import LocalthinkError


class _TiedWeightsNote(logging.Filter):
    """accelerate warns at every save of a model with tied embeddings (SmolLM2, small Qwens)
    that it stored the shared tensor once: expected, and the weights tie again on load."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Removed shared tensor" not in record.getMessage()


logging.getLogger("accelerate.utils.other").addFilter(_TiedWeightsNote())


@contextlib.contextmanager
def staged(ckpt: Path, main_process: bool = True) -> Iterator[Path]:
    """Yield the folder to save into; it becomes `ckpt` when the block ends without error.

    With several processes, every one saves into the yielded folder, and the caller waits
    for all of them (before writing and before the block ends); only the main one swaps.
    """
    from safetensors import SafetensorError

    tmp = ckpt.with_name(ckpt.name + ".tmp")
    if main_process:
        shutil.rmtree(tmp, ignore_errors=True)  # left by a save that was killed
    try:
        yield tmp
    # a full disk: OSError from Python, RuntimeError from torch.save, SafetensorError
    except (OSError, RuntimeError, SafetensorError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise save_error(f"cannot save a checkpoint in {ckpt.parent}", exc, ckpt) from None
    if main_process:
        old = ckpt.with_name(ckpt.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if ckpt.exists():
            ckpt.rename(old)
        tmp.rename(ckpt)
        shutil.rmtree(old, ignore_errors=True)


def recover(ckpt: Path) -> None:
    """A kill between the two renames of a swap leaves only `checkpoint.old`: put it back."""
    old = ckpt.with_name(ckpt.name + ".old")
    if not ckpt.exists() and (old / "state.json").exists():
        old.rename(ckpt)


def save_error(what: str, exc: Exception, ckpt: Path) -> LocalthinkError:
    """One line: what failed, why, the free space left, and what was kept."""
    reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
    free = shutil.disk_usage(ckpt.parent).free / 2**30
    kept = f"the last checkpoint ({ckpt}) is kept" if ckpt.exists() else "no checkpoint was kept"
    return LocalthinkError(f"{what} ({reason}; {free:.1f} GiB free there); {kept}")


def check_output(out: Path, resume: bool) -> None:
    """Before any training: `out` is a folder this run may write, and starting afresh does
    not throw away a run already saved there (its checkpoint, or its trained student)."""
    if out.exists() and not out.is_dir():
        raise LocalthinkError(f"{out} is a file; -o names a folder for the trained student")
    if not resume and ((out / "checkpoint").exists() or (out / "config.json").exists()):
        raise LocalthinkError(
            f"{out} already holds a trained student or checkpoint: --resume continues it;"
            " give another -o to start again"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        # a probe of its own: under `accelerate launch` every process checks at once
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise LocalthinkError(f"{out}: cannot write there ({exc.strerror or exc})") from None


def check_room(out: Path, model, resume: bool) -> None:
    """Refuse before training, not at the first save, when the disk cannot hold the run.

    A checkpoint holds the weights (float32: 4 bytes a parameter) and AdamW's two moments
    of the trainable ones; while one is swapped in, two exist; the student at the end is
    the weights again. A checkpoint already there (on resume) is counted as room.
    """
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    moments = 2 * sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    one = weights + moments
    need = 2 * one + weights
    ckpt = out / "checkpoint"
    if resume and ckpt.is_dir():
        need -= sum(f.stat().st_size for f in ckpt.iterdir() if f.is_file())
    where = next(p for p in (out, *out.parents) if p.exists())
    free = shutil.disk_usage(where).free
    if free < need:
        raise LocalthinkError(
            f"{out}: training needs about {need / 2**30:.1f} GiB on disk (checkpoints of "
            f"{one / 2**30:.1f} GiB, two at a time while one is swapped in, and the student); "
            f"{free / 2**30:.1f} GiB free"
        )
