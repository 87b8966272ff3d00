"""Quantize a GGUF with llama.cpp's own quantizer (llama_model_quantize)."""

from __future__ import annotations

import os
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
def _quiet_stderr():
    """llama.cpp logs every tensor to fd 2; keep the terminal to our one-line summary."""
    if os.environ.get("LOCALTHINK_DEBUG"):
        yield
        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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
        with _quiet_stderr():
            status = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        if status != 0 or not tmp.exists():
            raise ConversionError(f"llama.cpp could not quantize {src} to {name}")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return QuantizeResult(
        dst, src.stat().st_size, dst.stat().st_size, time.perf_counter() - started
    )
