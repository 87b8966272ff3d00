"""Qwen3 dense models → GGUF arch "qwen3": no biases, RMS norms on Q and K per head."""

from __future__ import annotations

import numpy as np

from converters import llama

ARCH = "qwen3"
HF_CLASSES = ("Qwen3ForCausalLM",)
LAYER = {
    **llama.LAYER,
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
}


def write_metadata(w, config: dict) -> None:
    llama.write_metadata(w, config)


def map_tensor(name: str, data: np.ndarray, config: dict) -> tuple[str, np.ndarray] | None:
    # no rope permutation: llama.cpp's qwen graphs use the HF (NeoX) rotary layout
    renamed = llama.rename(name, LAYER, ARCH)
    return None if renamed is None else (renamed[0], data)
