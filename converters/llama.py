"""Llama-style models (Llama 2/3, SmolLM2, R1-Distill-Llama) → GGUF arch "llama"."""

from __future__ import annotations

import re

import numpy as np

ARCH = "llama"
HF_CLASSES = ("LlamaForCausalLM",)

LAYER = {
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
}
TOP = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def head_dim(config: dict) -> int:
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def write_metadata(w, config: dict) -> None:
    """Hyperparameters under llama.cpp's key names."""
    w.add_context_length(config.get("max_position_embeddings", 4096))
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config.get("num_key_value_heads", config["num_attention_heads"]))
    w.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-6))
    w.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    w.add_rope_dimension_count(head_dim(config))
    w.add_key_length(head_dim(config))
    w.add_value_length(head_dim(config))
    w.add_vocab_size(config["vocab_size"])
    scaling = config.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type")) == "linear":
        import gguf

        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(scaling["factor"]))


def _unpermute_rope(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF stores Q/K rows with rotary halves split; llama.cpp's llama rope wants them
    interleaved per head (the inverse of HF's conversion from Meta's checkpoints)."""
    rows = w.shape[0]
    return (w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))  # fmt: skip


def rename(name: str, layer_map: dict, arch: str = ARCH) -> tuple[str, str] | None:
    """HF tensor name → (GGUF name, layer part or ""), or None to drop it (rotary caches)."""
    if name in TOP:
        return TOP[name], ""
    m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
    if not m or m.group(2) not in layer_map:
        return None if "rotary_emb" in name else _unknown(name, arch)
    return f"blk.{m.group(1)}.{layer_map[m.group(2)]}", m.group(2)


def map_tensor(name: str, data: np.ndarray, config: dict) -> tuple[str, np.ndarray] | None:
    """HF tensor → (GGUF name, data), Q and K rows permuted back to llama.cpp's rope order."""
    renamed = rename(name, LAYER)
    if renamed is None:
        return None
    gguf_name, part = renamed
    if part == "self_attn.q_proj.weight":
        data = _unpermute_rope(data, config["num_attention_heads"])
    elif part == "self_attn.k_proj.weight":
        data = _unpermute_rope(
            data, config.get("num_key_value_heads", config["num_attention_heads"])
        )
    return gguf_name, data


def _unknown(name: str, arch: str):
    from converters.checkpoint import CheckpointError

    raise CheckpointError(f"unexpected tensor {name} for a {arch} checkpoint")
