"""Model shapes the benchmarks build with random weights (real sizes, no downloads)."""

from __future__ import annotations

# Qwen2.5 family shapes, from their published config.json files
QWEN2 = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4),  # smoke tests of the benchmarks on CPU
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14),
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                 num_attention_heads=12),
}  # fmt: skip


def qwen2_config(size: str, vocab_size: int = 151936):
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1e6,
        tie_word_embeddings=True,
        **QWEN2[size],
    )
