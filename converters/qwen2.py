"""Qwen2 / Qwen2.5 (the DeepSeek-R1-Distill-Qwen students) → GGUF arch "qwen2".

Same layout as Llama plus q/k/v biases; llama.cpp runs qwen2 with NeoX rope, so the
Q/K rows stay in HF's order (no permutation).
"""

from __future__ import annotations

import re

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
    if name in llama.TOP:
        return llama.TOP[name], data
    m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
    if not m or m.group(2) not in LAYER:
        return None if "rotary_emb" in name else llama._unknown(name)
    return f"blk.{m.group(1)}.{LAYER[m.group(2)]}", data
