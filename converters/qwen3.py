"""Qwen3 dense models → GGUF arch "qwen3": no biases, RMS norms on Q and K per head."""

from __future__ import annotations

import re

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
    if name in llama.TOP:
        return llama.TOP[name], data
    m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
    if not m or m.group(2) not in LAYER:
        return None if "rotary_emb" in name else llama._unknown(name)
    return f"blk.{m.group(1)}.{LAYER[m.group(2)]}", data
