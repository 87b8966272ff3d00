"""Will a model fit in this machine's memory?"""

from __future__ import annotations

import os
from pathlib import Path

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
