"""Will a model fit in this machine's memory, and how much of it on the GPU?"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localthink.models.registry import QuantFile

# Weights are mapped whole; the KV cache and compute buffers add roughly this much on top.
OVERHEAD = 1.2
OVERHEAD_BYTES = 300 * 2**20

# VRAM that offloaded weights and KV cache may not use. llama.cpp also allocates its
# compute buffers (activations for a 512-token batch) there, and the CUDA or Metal
# context itself takes memory that nvidia-smi still counted as free. Measured on an H100
# (benchmarks/gpu_offload_fit.py, Qwen2.5-1.5B shape, f16, 8192-token context): 636 MiB
# beyond weights, KV cache and logits with every layer offloaded, 749 MiB with some; 512
# was too little. Erring by one layer too few costs a little speed, one too many makes
# the load fail, so the reserve keeps about 300 MiB to spare on top of what was seen.
GPU_RESERVE_BYTES = 1024 * 2**20
# With the output layer on the GPU, the logits for a whole batch (n_vocab floats per
# token) live there too: 100 MB for SmolLM2's vocabulary, 300 MB for Qwen's.
UBATCH = 512
# The engine's default context (engine/llama.py DEFAULT_CTX), mirrored because this
# module must not import the engine: that loads llama.cpp into the chat app's process.
DEFAULT_CTX = 8192
_GPU_BACKENDS = ("cuda", "metal", "vulkan", "hip", "rocm", "sycl", "opencl", "musa", "cann")


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


def fits(file_bytes: int, memory: int | None = None) -> bool:
    """True when the model's file plus working memory fits in `memory` (default: free RAM)."""
    return needed_bytes(file_bytes) <= (memory_bytes()[1] if memory is None else memory)


def pick_quant(entry, memory: int | None = None) -> QuantFile:  # noqa: F821
    """The registry's default quant if it fits in memory (default: free RAM), else the
    largest one that does, else the smallest."""
    memory = memory_bytes()[1] if memory is None else memory
    default = entry.quants[entry.default_quant]
    if fits(default.size_bytes, memory):
        return default
    fitting = [q for q in entry.quants.values() if fits(q.size_bytes, memory)]
    if fitting:
        return max(fitting, key=lambda q: q.size_bytes)
    return min(entry.quants.values(), key=lambda q: q.size_bytes)


def unified_memory() -> bool:
    """Apple silicon: the GPU's memory is the RAM, so offloading frees none of it."""
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def gpu_memory_bytes() -> int | None:
    """Free VRAM on the first NVIDIA GPU (nvidia-smi), or Apple's default working set
    (about 3/4 of unified memory) on Apple silicon; None when it cannot be read."""
    if unified_memory():
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


def offload_supported() -> bool:
    """Whether the installed llama.cpp build has a GPU backend, judged by its libraries.

    Not llama_cpp.llama_supports_gpu_offload(): importing llama_cpp would load the CUDA
    runtime into the chat app's own process, which never runs the model. The engine,
    which has llama.cpp loaded anyway, asks llama.cpp itself.
    """
    dirs = [os.environ["LLAMA_CPP_LIB_PATH"]] if os.environ.get("LLAMA_CPP_LIB_PATH") else []
    spec = importlib.util.find_spec("llama_cpp")
    if spec is not None and spec.submodule_search_locations:
        dirs += [str(Path(loc) / "lib") for loc in spec.submodule_search_locations]
    for d in dirs:
        if Path(d).is_dir():
            for lib in Path(d).iterdir():
                name = lib.name.lower()
                if any(f"ggml-{b}" in name for b in _GPU_BACKENDS):
                    return True
    return False


@dataclass(frozen=True)
class LayerSizes:
    """A GGUF's weights split the way llama.cpp offloads them."""

    layers: list[int]  # bytes of each repeating block (blk.N.*), block 0 first
    other: int  # token embedding, output norm and output: the non-repeating part
    kv_per_token: list[int]  # f16 K and V bytes one token takes in each block
    n_vocab: int
    context_length: int = 0  # what the model was trained for; 0 when not given

    @property
    def block_count(self) -> int:
        return len(self.layers)

    def offloads_all(self, n_layers: int) -> bool:
        """llama.cpp's reading of n_gpu_layers: -1 or more than the blocks means all,
        the output layer included."""
        return n_layers < 0 or n_layers > self.block_count

    def vram_needed(self, n_layers: int, n_ctx: int) -> int:
        """VRAM for offloading n_layers blocks (-1: all) and their KV cache at n_ctx."""
        everything = self.offloads_all(n_layers)
        # llama.cpp offloads the last blocks first; the output layer goes only with all.
        first = 0 if everything else self.block_count - n_layers
        need = GPU_RESERVE_BYTES + sum(
            self.layers[i] + n_ctx * self.kv_per_token[i] for i in range(first, self.block_count)
        )
        if everything:
            need += self.other + UBATCH * self.n_vocab * 4
        return need

    def gpu_weight_bytes(self, n_layers: int) -> int:
        """Weight bytes that go to the GPU with n_layers offloaded (-1: all)."""
        if self.offloads_all(n_layers):
            return sum(self.layers) + self.other
        return sum(self.layers[self.block_count - n_layers :])


def layer_sizes(path: str | Path) -> LayerSizes:
    """Per-block weight bytes and KV cache cost, from the GGUF's header alone."""
    from localthink.models.gguf_scan import ArrayRef, read_array_item, scan_gguf

    path = Path(path)
    header = scan_gguf(path)
    fields = header.fields
    arch = fields.get("general.architecture", "")

    def number(key: str, default: int = 0) -> int:
        value = fields.get(f"{arch}.{key}", default)
        return value if isinstance(value, int) else default

    n_blocks = number("block_count")
    layers, other = [0] * n_blocks, 0
    for t in header.tensors:
        parts = t.name.split(".")
        if len(parts) > 1 and parts[0] == "blk" and parts[1].isdigit() and int(parts[1]) < n_blocks:
            layers[int(parts[1])] += t.n_bytes
        else:
            other += t.n_bytes
    n_head = number("attention.head_count")
    head_dim = number("embedding_length") // n_head if n_head else 0
    k_dim = number("attention.key_length", head_dim)
    v_dim = number("attention.value_length", head_dim)
    # Some models (OpenELM) give one KV head count per block.
    kv_heads = fields.get(f"{arch}.attention.head_count_kv", n_head)
    if isinstance(kv_heads, ArrayRef):
        heads = [int(read_array_item(path, kv_heads, i)) for i in range(kv_heads.count)]
    else:
        heads = [int(kv_heads)] * n_blocks
    kv = [h * (k_dim + v_dim) * 2 for h in heads[:n_blocks]] + [0] * (n_blocks - len(heads))
    tokens = fields.get("tokenizer.ggml.tokens")
    n_vocab = tokens.count if isinstance(tokens, ArrayRef) else number("vocab_size")
    return LayerSizes(layers, other, kv, n_vocab, number("context_length"))


def gpu_layers_that_fit(path: str | Path | LayerSizes, vram_free: int, n_ctx: int) -> int:
    """How many blocks to offload: -1 when the whole model fits in vram_free, else the
    most blocks whose weights and KV cache fit, 0 when none does."""
    sizes = path if isinstance(path, LayerSizes) else layer_sizes(path)
    if sizes.vram_needed(-1, n_ctx) <= vram_free:
        return -1
    n = 0
    while n < sizes.block_count and sizes.vram_needed(n + 1, n_ctx) <= vram_free:
        n += 1
    return n


def fit_warning(
    file_bytes: int,
    path: str | Path | None = None,
    n_ctx: int | None = None,
    n_gpu_layers: int | None = None,
) -> str | None:
    """A one-line warning, with the numbers, when a model will not fit in free memory
    or only part of it fits on the GPU; None when it all fits.

    With `path` it plans the GPU offload the engine will make; RAM is checked only for
    what stays on the CPU side (the whole file on a CPU build or Apple's unified memory).
    """
    offload = offload_supported()
    vram = gpu_memory_bytes() if offload else None
    notes = []
    if not offload:
        cpu_bytes = file_bytes
    elif path is None:  # no per-block sizes: all or nothing, as llama.cpp's default does
        cpu_bytes = 0 if vram is None or needed_bytes(file_bytes) <= vram else file_bytes
    else:
        sizes = layer_sizes(path)
        n_ctx = n_ctx or min(sizes.context_length or DEFAULT_CTX, DEFAULT_CTX)
        layers = n_gpu_layers
        if layers is None:  # the engine's choice; the user's --gpu-layers is their own
            layers = -1 if vram is None else gpu_layers_that_fit(sizes, vram, n_ctx)
            if vram is not None and not sizes.offloads_all(layers):
                notes.append(_offload_note(sizes, layers, n_ctx, vram))
        # All offloaded leaves only the header (vocabulary) on the CPU side: nothing to check.
        everything = sizes.offloads_all(layers)
        cpu_bytes = 0 if everything else file_bytes - sizes.gpu_weight_bytes(layers)
    if unified_memory():
        cpu_bytes = file_bytes
    free = memory_bytes()[1]
    if cpu_bytes and needed_bytes(cpu_bytes) > free:
        part = "this model" if cpu_bytes == file_bytes else "the part on the CPU"
        notes.append(
            f"{part} needs about {needed_bytes(cpu_bytes) / 1e9:.1f} GB but only"
            f" {free / 1e9:.1f} GB of RAM is free"
            " (it may swap or fail to load; try a smaller quant)"
        )
    return "; ".join(notes) or None


def _offload_note(sizes: LayerSizes, layers: int, n_ctx: int, vram: int) -> str:
    if layers == 0:
        return f"no layer fits in {vram / 1e9:.1f} GB of free VRAM; running on the CPU"
    used = sizes.vram_needed(layers, n_ctx)
    return (
        f"offloading {layers}/{sizes.block_count} layers"
        f" ({used / 1e9:.1f} GB of {vram / 1e9:.1f} GB VRAM free)"
    )
