"""Quantize a GGUF with llama.cpp's own quantizer (llama_model_quantize)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from converters.writer import ConversionError

TYPES = (
    "Q8_0",
    "Q6_K",
    "Q5_K_M",
    "Q5_K_S",
    "Q5_0",
    "Q4_K_M",
    "Q4_K_S",
    "Q4_1",
    "Q4_0",
    "Q3_K_M",
    "Q2_K",
    "IQ4_XS",
    "F16",
    "BF16",
)


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    bytes_before: int
    bytes_after: int
    seconds: float


@contextmanager
def _captured_stderr():
    """llama.cpp logs every tensor to fd 2: keep it off the terminal, but keep its words.

    Yields a list that, after the block, holds the lines llama.cpp wrote (empty with
    LOCALTHINK_DEBUG, when they go to the terminal as they come).
    """
    lines: list[str] = []
    if os.environ.get("LOCALTHINK_DEBUG"):
        yield lines
        return
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            lines.extend(log.read().decode(errors="replace").splitlines())


def quantize(
    src: str | Path, dst: str | Path, qtype: str, force: bool = False, threads: int | None = None
) -> QuantizeResult:
    import llama_cpp

    from localthink.models.gguf_file import read_gguf_info

    src, dst = Path(src), Path(dst)
    name = qtype.upper()
    if name not in TYPES:
        raise ConversionError(f"--type {qtype}: unsupported (use one of {', '.join(TYPES)})")
    read_gguf_info(src)  # one-line error for a missing or damaged input
    if dst.exists() and not force:
        raise ConversionError(f"{dst} exists (use --force to overwrite)")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{name}")
    params.nthread = threads or max(1, (os.cpu_count() or 2))
    tmp = dst.with_name(dst.name + ".partial")
    started = time.perf_counter()
    try:
        with _captured_stderr() as log:
            status = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        if status != 0 or not tmp.exists():  # llama.cpp says why only in its log
            why = [
                line.split("failed to quantize:", 1)[1].strip()
                for line in log
                if "failed to quantize:" in line
            ]
            free = shutil.disk_usage(dst.parent).free / 2**30
            raise ConversionError(
                f"llama.cpp could not quantize {src} to {name} "
                f"({why[-1] if why else 'see LOCALTHINK_DEBUG=1'}; "
                f"{free:.1f} GiB free in {dst.parent})"
            )
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return QuantizeResult(
        dst, src.stat().st_size, dst.stat().st_size, time.perf_counter() - started
    )
