"""What training does differently on a CUDA GPU to go fast. On CPU and MPS, nothing.

`--compile` (torch.compile of the whole student) replaces the Liger kernels: the compiler
cannot trace them, and it fuses the same operations itself.

- Liger's Triton kernels (liger-kernel, the `gpu` extra), patched into the loaded student:
  RMSNorm, SwiGLU, RoPE and above all a fused output head + cross-entropy that never
  holds the [batch × length × vocabulary] logits (about 10 GB in float32 for a Qwen2
  vocabulary at 8 × 2048 tokens, plus their gradient), so larger batches fit.
- AdamW's fused CUDA kernel (one launch for every parameter, instead of a loop).
"""

from __future__ import annotations

import logging
import os


class _OtherBackendsNote(logging.Filter):
    """Liger warns, once per kernel and process, that its optional non-Triton backends (CuTe
    DSL, Ascend NPUs) did not import: expected on a CUDA install, and the Triton kernels
    run. Eight such lines on two GPUs read like a failure, so they are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "could not be imported" not in record.getMessage()


logging.getLogger("liger_kernel.backends.registry").addFilter(_OtherBackendsNote())


def expandable_memory() -> None:
    """Let PyTorch's CUDA allocator grow blocks instead of keeping fixed ones: near a full
    GPU, gigabytes reserved but split into unusable pieces otherwise fail an allocation.
    Read when CUDA first allocates; a setting of the user's own (either name) is kept."""
    if not {"PYTORCH_ALLOC_CONF", "PYTORCH_CUDA_ALLOC_CONF"} & os.environ.keys():
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"  # torch ≥ 2.4 reads it


def on_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def use_liger(model) -> bool:
    """Patch the student with Liger's kernels when they are installed and know it."""
    if not on_cuda():
        return False
    try:
        from liger_kernel.transformers import _apply_liger_kernel_to_instance
        from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN
    except ImportError:  # the `gpu` extra is not installed: plain transformers
        return False
    if model.config.model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        return False
    _apply_liger_kernel_to_instance(model=model)
    return True


def adamw(params, lr: float):
    import torch

    return torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=on_cuda() or None)
