"""Gemma 3 (gemma-3-270m and 1b; the text model of 4b, 12b, 27b) → GGUF arch "gemma3".

Differences from Llama that the file has to carry: four norms per layer plus Q/K norms, all
stored by HF as `weight` where the model multiplies by `1 + weight` (llama.cpp multiplies by
the stored value, so 1 is added here); tied embeddings; local (sliding window) layers with
their own rope base mixed with global ones; NeoX rope (no Q/K permutation). The embedding
scale (√hidden) and GELU-tanh feed-forward are built into llama.cpp's gemma3 graph.
For the multimodal checkpoints only the language model is converted: the GGUF chats in text.
"""

from __future__ import annotations

import numpy as np

from converters import llama
from converters.checkpoint import CheckpointError, check_number

ARCH = "gemma3"
HF_CLASSES = ("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration")
MODEL_TYPES = ("gemma3_text",)
LAYER = {
    **llama.LAYER,
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
}


def text_config(config: dict, where: str = "config.json") -> dict:
    """The language model's settings (multimodal checkpoints nest them under text_config)."""
    if "text_config" not in config:
        return config
    if not isinstance(config["text_config"], dict):
        raise CheckpointError(f"{where}: text_config is not a table of settings")
    return {"tie_word_embeddings": config.get("tie_word_embeddings", True), **config["text_config"]}


def check_config(config: dict, where: str) -> None:
    """Llama's keys, and the sliding-window ones gemma3 adds."""
    llama.check_config(config, where)
    for key in ("sliding_window", "sliding_window_pattern", "_sliding_window_pattern"):
        check_number(config, key, where, whole=True, optional=True)
    for key in ("rope_local_base_freq", "query_pre_attn_scalar", "final_logit_softcapping"):
        check_number(config, key, where, optional=True)
    kinds = config.get("layer_types")
    if kinds and (
        not isinstance(kinds, list)
        or len(kinds) != config["num_hidden_layers"]
        or not all(k in ("sliding_attention", "full_attention") for k in kinds)
    ):
        raise CheckpointError(
            f"{where}: layer_types is not a list of sliding_attention / full_attention, "
            "one per layer"
        )


def write_metadata(w, config: dict) -> None:
    _check_supported(config)
    llama.write_metadata(w, config)
    if config.get("final_logit_softcapping"):
        w.add_final_logit_softcapping(float(config["final_logit_softcapping"]))
    window = config.get("sliding_window")
    if window:
        w.add_sliding_window(int(window))
        w.add_sliding_window_pattern([t == "sliding_attention" for t in layer_types(config)])
        w.add_rope_freq_base_swa(float(_local_rope_theta(config)))


def layer_types(config: dict) -> list[str]:
    """Which layers slide: transformers 5 lists them; older configs give every Nth as global."""
    if config.get("layer_types"):
        return list(config["layer_types"])
    every = config.get("sliding_window_pattern") or config.get("_sliding_window_pattern") or 6
    return [
        "full_attention" if (i + 1) % every == 0 else "sliding_attention"
        for i in range(config["num_hidden_layers"])
    ]


def _local_rope_theta(config: dict) -> float:
    if "rope_local_base_freq" in config:  # transformers < 5
        return config["rope_local_base_freq"]
    return llama.rope_settings(config, "sliding_attention")["rope_theta"]


def _check_supported(config: dict) -> None:
    """llama.cpp's gemma3 graph fixes some choices that a config could make otherwise."""
    if config.get("attn_logit_softcapping"):
        raise CheckpointError("gemma3 with attention logit softcapping is not supported")
    local = llama.rope_settings(config, "sliding_attention")
    if "rope_local_base_freq" not in config and local["rope_type"] != "default":
        raise CheckpointError("gemma3 with scaled rope on sliding layers is not supported")
    # llama.cpp scales queries by 1/√head_dim (by 1/√(hidden/heads) for the 62-layer 27B)
    scalar = config.get("query_pre_attn_scalar", llama.head_dim(config))
    expected = (
        config["hidden_size"] // config["num_attention_heads"]
        if config["num_hidden_layers"] == 62
        else llama.head_dim(config)
    )
    if scalar != expected:
        raise CheckpointError(
            f"gemma3 with query_pre_attn_scalar {scalar} is not supported "
            f"(llama.cpp scales queries by 1/sqrt({expected}))"
        )


def map_tensor(name: str, data: np.ndarray, config: dict) -> tuple[str, np.ndarray] | None:
    if name.startswith(("vision_tower.", "multi_modal_projector.")):
        return None  # the image side has no place in a text GGUF
    name = name.removeprefix("language_model.")
    if name == "lm_head.weight" and config.get("tie_word_embeddings", True):
        return None  # the same matrix as the embeddings, which llama.cpp reuses
    renamed = llama.rename(name, LAYER, ARCH)
    if renamed is None:
        return None
    gguf_name, _ = renamed
    if gguf_name.endswith("norm.weight"):
        data = data + 1.0
    return gguf_name, data
