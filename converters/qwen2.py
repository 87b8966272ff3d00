"""Qwen2 / Qwen2.5 (the DeepSeek-R1-Distill-Qwen students) → GGUF arch "qwen2".

Same layout as Llama plus q/k/v biases; llama.cpp runs qwen2 with NeoX rope, so the
Q/K rows stay in HF's order (no permutation).
"""

from __future__ import annotations

import numpy as np

from converters import llama

ARCH = "qwen2"
HF_CLASSES = ("Qwen2ForCausalLM",)
LAYER = {
    **llama.LAYER,
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
}


def write_metadata(w, config: dict) -> None:
    llama.write_metadata(w, config)


def map_tensor(name: str, data: np.ndarray, config: dict) -> tuple[str, np.ndarray] | None:
    # no rope permutation: llama.cpp's qwen graphs use the HF (NeoX) rotary layout
    renamed = llama.rename(name, LAYER, ARCH)
    return None if renamed is None else (renamed[0], data)
