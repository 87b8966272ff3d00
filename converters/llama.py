"""Llama-style models (Llama 2/3, SmolLM2, R1-Distill-Llama) → GGUF arch "llama"."""

from __future__ import annotations

import re

import numpy as np

from converters.checkpoint import CheckpointError, check_number

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


# what each rope scaling type reads from the config, besides rope_theta
ROPE_NEEDS = {
    "default": (),
    "linear": ("factor",),
    "yarn": ("factor", "original_max_position_embeddings"),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
}


def check_config(config: dict, where: str) -> None:
    """Every key the conversion reads, present and of its kind: one line naming the first
    that is not (`where` is the config file), rather than a KeyError midway."""
    for key in ("hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads"):
        check_number(config, key, where, whole=True)
    check_number(config, "vocab_size", where, whole=True)
    for key in ("num_key_value_heads", "head_dim", "max_position_embeddings"):
        check_number(config, key, where, whole=True, optional=True)
    for key in ("rms_norm_eps", "rope_theta"):
        check_number(config, key, where, optional=True)
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    if heads % kv_heads:
        raise CheckpointError(
            f"{where}: num_attention_heads {heads} is not a multiple of "
            f"num_key_value_heads {kv_heads}"
        )
    if not config.get("head_dim") and config["hidden_size"] % heads:
        raise CheckpointError(
            f"{where}: hidden_size {config['hidden_size']} is not a multiple of "
            f"num_attention_heads {heads} (and no head_dim is given)"
        )
    for key in ("rope_parameters", "rope_scaling"):
        if config.get(key) is not None and not isinstance(config[key], dict):
            raise CheckpointError(f"{where}: {key} is not a table of settings")
    params = config.get("rope_parameters") or {}
    kinds = ["full_attention"]
    if "full_attention" in params:  # transformers 5, models mixing sliding and full attention
        if not all(isinstance(v, dict) for v in params.values()):
            raise CheckpointError(f"{where}: rope_parameters per layer type are not tables")
        kinds = list(params)
    for kind in kinds:
        check_rope(rope_settings(config, kind), where)


def check_rope(rope: dict, where: str = "config.json") -> None:
    """A rope type the converter knows, with the numbers that type needs."""
    kind = rope["rope_type"]
    if not isinstance(kind, str) or kind not in ROPE_NEEDS:
        raise CheckpointError(
            f"{where}: rope scaling {kind!r} is not supported "
            "(default, linear, llama3 and yarn are)"
        )
    check_number(rope, "rope_theta", where)
    for key in ROPE_NEEDS[kind]:
        if key not in rope:
            raise CheckpointError(f"{where}: rope scaling {kind} needs {key}, which is missing")
        check_number(rope, key, f"{where}: rope scaling {kind}")
    if kind == "llama3" and rope["high_freq_factor"] <= rope["low_freq_factor"]:
        raise CheckpointError(
            f"{where}: rope scaling llama3 needs high_freq_factor > low_freq_factor"
        )


def head_dim(config: dict) -> int:
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def rope_settings(config: dict, layer_type: str = "full_attention") -> dict:
    """{"rope_theta", "rope_type", "factor", …} for one kind of layer, from either config style.

    transformers < 5 wrote `rope_theta` and `rope_scaling`; transformers 5 writes only
    `rope_parameters` (per layer type for models that mix sliding and full attention), so a
    student saved by it has no `rope_theta` at all.
    """
    params = config.get("rope_parameters")
    if params:
        if "full_attention" in params:
            params = params.get(layer_type) or params["full_attention"]
        return {"rope_type": "default", "rope_theta": 10000.0, **params}
    scaling = dict(config.get("rope_scaling") or {})
    rope_type = scaling.pop("rope_type", scaling.pop("type", "default"))
    return {**scaling, "rope_type": rope_type, "rope_theta": config.get("rope_theta", 10000.0)}


def write_metadata(w, config: dict) -> None:
    """Hyperparameters under llama.cpp's key names."""
    w.add_context_length(config.get("max_position_embeddings", 4096))
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config.get("num_key_value_heads", config["num_attention_heads"]))
    w.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-6))
    w.add_rope_dimension_count(head_dim(config))
    w.add_key_length(head_dim(config))
    w.add_value_length(head_dim(config))
    w.add_vocab_size(config["vocab_size"])
    write_rope(w, rope_settings(config))


def write_rope(w, rope: dict) -> None:
    """Base frequency and linear scaling; llama3 scaling travels as the rope_freqs tensor."""
    import gguf

    check_rope(rope)
    w.add_rope_freq_base(float(rope["rope_theta"]))
    if rope["rope_type"] == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(rope["factor"]))
    elif rope["rope_type"] == "yarn":  # Qwen's long-context setting
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(float(rope["factor"]))
        w.add_rope_scaling_orig_ctx_len(int(rope["original_max_position_embeddings"]))


def extra_tensors(config: dict):
    """Tensors llama.cpp wants that the checkpoint does not hold: llama3 rope frequency factors."""
    rope = rope_settings(config)
    if rope["rope_type"] != "llama3":
        return
    dim = head_dim(config)
    inv_freq = 1.0 / rope["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
    old_ctx = rope["original_max_position_embeddings"]
    wavelen = 2 * np.pi / inv_freq
    # Llama 3.1's schedule: long wavelengths slowed by `factor`, short ones kept, a smooth ramp
    # between; llama.cpp divides each frequency by the factor stored here.
    smooth = np.clip((old_ctx / wavelen - low) / (high - low), 0.0, 1.0)
    scaled = (1 - smooth) * inv_freq / factor + smooth * inv_freq
    yield "rope_freqs.weight", (inv_freq / scaled).astype(np.float32)


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
        data = _unpermute_rope(data, _rows_for(name, data, config, "num_attention_heads"))
    elif part == "self_attn.k_proj.weight":
        data = _unpermute_rope(data, _rows_for(name, data, config, "num_key_value_heads"))
    return gguf_name, data


def _rows_for(name: str, data: np.ndarray, config: dict, heads_key: str) -> int:
    """The head count, once the tensor is known to hold heads × head_dim rows (the rope
    permutation reshapes by it)."""
    heads = config.get(heads_key) or config["num_attention_heads"]
    if data.shape[0] != heads * head_dim(config):
        raise CheckpointError(
            f"{name} has {data.shape[0]} rows; config.json's {heads_key} × head_dim "
            f"is {heads} × {head_dim(config)}"
        )
    return heads


def required_tensors(config: dict, layer_map: dict) -> set[str]:
    """Every tensor the architecture's map names, for every layer, and the output layer when
    it is not tied to the embeddings: a missing one is an error."""
    names = {"token_embd.weight", "output_norm.weight"}
    # Absent, transformers' default is tied. Untied without lm_head, llama.cpp would quietly
    # reuse the embeddings as the output layer: a different model.
    if not config.get("tie_word_embeddings", True):
        names.add("output.weight")
    for i in range(config["num_hidden_layers"]):
        names |= {f"blk.{i}.{part}" for part in layer_map.values()}
    return names


def _unknown(name: str, arch: str):
    raise CheckpointError(f"unexpected tensor {name} for a {arch} checkpoint")
