"""Real tokenizers the converter tests build tiny checkpoints around."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tokenizer_dir(smollm2_path, tmp_path_factory):
    """A real BPE tokenizer: the one transformers reads out of the SmolLM2 GGUF."""
    from transformers import AutoTokenizer

    d = tmp_path_factory.mktemp("tok")
    AutoTokenizer.from_pretrained(smollm2_path.parent, gguf_file=smollm2_path.name).save_pretrained(
        d
    )
    return d


@pytest.fixture(scope="session")
def spm_tokenizer_dir(tmp_path_factory):
    """A SentencePiece BPE tokenizer, as Gemma ships (byte fallback, scores, no space prefix)."""
    pytest.importorskip("sentencepiece")
    from tests.converters.tiny import sentencepiece_tokenizer  # imports torch: only when used

    return sentencepiece_tokenizer(tmp_path_factory.mktemp("spm") / "tok")
