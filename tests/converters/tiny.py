"""Tiny randomly initialised checkpoints with real tokenizers, and llama.cpp's logits for them."""

from __future__ import annotations

import json
import random

import numpy as np
import torch
import transformers

MIXED = "Hello, wörld! Ça va? 你好世界 🙂🚀 12345 + 678 = 7023 <think>why</think> done."
PROMPTS = [
    "The capital of France is",
    "2+2=4 and 3+3=",
    "<think>\nLet me see",
    MIXED,
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
]
TOLERANCE = {"f32": 2e-3, "f16": 2e-2}  # max |logit difference| on these tiny random models

# Non-default rope settings, so a converter that drops them is caught by the logits.
ROPE = {
    "llama": {"rope_theta": 500000.0},
    "llama3": {
        "rope_theta": 500000.0,
        "rope_scaling": {
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64,  # small, so the tiny head's ramp is used
        },
    },
    "qwen2": {"rope_theta": 1000000.0},
    "qwen2-yarn": {
        "rope_theta": 1000000.0,
        "rope_scaling": {
            "rope_type": "yarn",
            "factor": 4.0,
            "original_max_position_embeddings": 16,  # below the longer prompts
        },
    },
    "qwen3": {"rope_theta": 1000000.0},
    "gemma3": {
        "rope_parameters": {
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 20000.0},  # not 1e4
        }
    },
}
WINDOW = 8  # gemma3's sliding window: shorter than the longer prompts


def sentencepiece_tokenizer(dst):
    """A Gemma-style SentencePiece BPE tokenizer (byte fallback, no space prefix, digits split),
    trained here on a small mixed-script corpus, then saved by transformers as tokenizer.json."""
    import io

    import sentencepiece as spm
    from transformers import AutoTokenizer

    words = str.split(
        "the capital of france is paris and two plus two equals four let me think about "
        "this carefully so the answer because therefore hello world café naïve über "
        "你好 世界 数学 问题 🙂 ok done why one two three four five six seven eight"
    )
    rng = random.Random(0)
    lines = []
    for _ in range(3000):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
        lines.append(f"{sentence} {rng.randint(0, 99999)}.")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="bpe",
        vocab_size=560,
        byte_fallback=True,
        split_digits=True,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        allow_whitespace_only_pieces=True,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        pad_piece="<pad>",
        eos_piece="<eos>",
        bos_piece="<bos>",
        unk_piece="<unk>",
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>", "<think>", "</think>"],
        num_threads=1,
        minloglevel=2,
    )
    src = dst.parent / (dst.name + "-spm")
    src.mkdir()
    (src / "tokenizer.model").write_bytes(model.getvalue())
    template = (
        "{{ bos_token }}{% for m in messages %}<start_of_turn>"
        "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}"
        "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    )
    (src / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "GemmaTokenizer",
                "add_bos_token": True,
                "bos_token": "<bos>",
                "eos_token": "<eos>",
                "pad_token": "<pad>",
                "unk_token": "<unk>",
                "chat_template": template,
            }
        )
    )
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)
    return dst


def tiny_checkpoint(arch: str, tokenizer_dir, dst, hidden: int = 64):
    """A randomly initialised model of the architecture, saved with the real tokenizer."""
    from transformers import AutoTokenizer

    classes = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "llama3": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen2-yarn": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
        "gemma3": (transformers.Gemma3TextConfig, transformers.Gemma3ForCausalLM),
    }
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    if arch == "gemma3-mm":  # the multimodal checkpoint: a tiny vision tower beside the text model
        return _save(tok, dst, transformers.Gemma3ForConditionalGeneration(
            transformers.Gemma3Config(
                text_config=dict(
                    vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                    num_hidden_layers=7, num_attention_heads=4, num_key_value_heads=2,
                    head_dim=hidden // 4, query_pre_attn_scalar=hidden // 4,
                    sliding_window=WINDOW, max_position_embeddings=512,
                ),
                vision_config=dict(
                    hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                    num_attention_heads=2, image_size=28, patch_size=14,
                ),
                mm_tokens_per_image=4,
            )
        ))  # fmt: skip
    config_cls, model_cls = classes[arch]
    extra = dict(ROPE[arch])
    if arch in ("qwen3", "gemma3"):
        extra["head_dim"] = hidden // 4
    if arch == "gemma3":  # 7 layers, global ones not where Gemma's every-6th default puts them
        kinds = "SFSSFSS"
        extra.update(
            num_hidden_layers=len(kinds),
            layer_types=["full_attention" if k == "F" else "sliding_attention" for k in kinds],
            sliding_window=WINDOW,
            query_pre_attn_scalar=hidden // 4,
            tie_word_embeddings=True,
        )
    config = config_cls(
        **{
            "vocab_size": len(tok),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 512,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": False,
            **extra,
        }
    )
    return _save(tok, dst, model_cls(config))


def _save(tok, dst, model):
    with torch.no_grad():  # biases and norms start at 0/1: make them count
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.2)
    model.eval().save_pretrained(dst)
    tok.save_pretrained(dst)
    return model, tok


def llama_logits(gguf_path, ids):
    import llama_cpp

    llm = llama_cpp.Llama(str(gguf_path), n_ctx=256, logits_all=True, verbose=False)
    llm.eval(ids)
    out = np.array(llm.scores[: len(ids)])
    llm.close()
    return out
