"""Will a model fit in this machine's memory?"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localthink.models.registry import QuantFile

# Weights are mapped whole; the KV cache and compute buffers add roughly this much on top.
OVERHEAD = 1.2
OVERHEAD_BYTES = 300 * 2**20


def memory_bytes() -> tuple[int, int]:
    """(total, available) RAM in bytes; available falls back to total where unknown."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        values = {}
        for line in meminfo.read_text().splitlines():
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
        total = values.get("MemTotal", 0)
        return total, values.get("MemAvailable", total)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total, total


def needed_bytes(file_bytes: int) -> int:
    return int(file_bytes * OVERHEAD) + OVERHEAD_BYTES


def fits(file_bytes: int) -> bool:
    """True when the model's file plus working memory fits in available RAM."""
    return needed_bytes(file_bytes) <= memory_bytes()[1]


def pick_quant(entry) -> QuantFile:  # noqa: F821 (registry imports this module's users)
    """The registry's default quant if it fits in memory, else the largest one that does."""
    default = entry.quants[entry.default_quant]
    if fits(default.size_bytes):
        return default
    fitting = [q for q in entry.quants.values() if fits(q.size_bytes)]
    if fitting:
        return max(fitting, key=lambda q: q.size_bytes)
    return min(entry.quants.values(), key=lambda q: q.size_bytes)


def gpu_memory_bytes() -> int | None:
    """Free VRAM on the first NVIDIA GPU (nvidia-smi), or Apple's default working set
    (about 3/4 of unified memory) on Apple silicon; None when it cannot be read."""
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return memory_bytes()[0] * 3 // 4
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout
            return int(out.split()[0]) * 2**20
        except (subprocess.SubprocessError, ValueError, IndexError, OSError):
            return None
    return None


def fit_warning(file_bytes: int) -> str | None:
    """A one-line warning when a model will not fit in free memory, with the numbers."""
    need, (_, free) = needed_bytes(file_bytes), memory_bytes()
    vram = gpu_memory_bytes()
    if need <= free or (vram is not None and need <= vram):
        return None
    return (
        f"this model needs about {need / 1e9:.1f} GB but only {free / 1e9:.1f} GB of RAM is free"
        " (it may swap or fail to load; try a smaller quant)"
    )
