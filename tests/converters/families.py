"""Byte-level BPE tokenizers of several families, trained here, each with its family's own
pre-tokenizer (how text is cut into words before the merges), as tokenizer.json holds it.

Trained on text rich in what the families cut differently (indented code, digit runs,
newlines, contractions, CJK, emoji), so their merges cross the other families' cuts: a
converter that gives llama.cpp the wrong pre-tokenizer gets different ids.
"""

from __future__ import annotations

import json
import random

# The families' published split patterns (from their tokenizer.json files), written out here
# as the models ship them: they are what the converter has to recognise.
_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
_TAIL = r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|" + _TAIL
QWEN2_PATTERN = _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|" + _TAIL

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
CLASSES = {"qwen2": "Qwen2Tokenizer"}  # what a Qwen checkpoint's tokenizer_config.json names


def _pre_tokenizer(family: str):
    from tokenizers import Regex, pre_tokenizers

    def split(pattern: str):
        return pre_tokenizers.Split(Regex(pattern), behavior="isolated")

    def byte_level(use_regex: bool, prefix: bool = False):
        return pre_tokenizers.ByteLevel(add_prefix_space=prefix, use_regex=use_regex)

    steps = {
        # Llama 3, and the R1 distills of it
        "llama3": [split(LLAMA3_PATTERN), byte_level(False)],
        # Qwen2, Qwen2.5, Qwen3, and the R1 distills of Qwen
        "qwen2": [split(QWEN2_PATTERN), byte_level(False)],
        # SmolLM2 / StarCoder: digits one by one, then GPT-2's words
        "smollm": [pre_tokenizers.Digits(individual_digits=True), byte_level(True)],
        # GPT-2 itself
        "gpt2": [byte_level(True)],
        # RoBERTa-style: a space put before the text, which llama.cpp's BPE never does
        "prefix-space": [byte_level(True, prefix=True)],
    }[family]
    return pre_tokenizers.Sequence(steps)


FAMILIES = ("llama3", "qwen2", "smollm", "gpt2", "prefix-space")


def corpus(n: int = 4000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = str.split(
        "the answer is because therefore let me think about this carefully hello world "
        "return value def class import self print for while if else café naïve über "
        "你好 世界 数学 问题 答案 🙂 🚀 👍 ok done why I'm you'll they've don't it's DON'T"
    )
    lines = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:  # indented code
            indent = " " * rng.choice((4, 8, 12))
            lines.append(
                f"def f{rng.randint(0, 99)}(x):\n{indent}return x*{rng.randint(0, 9999)}\n"
                f"{indent}# {rng.choice(words)} {rng.choice(words)}\n\n"
            )
        elif kind < 0.6:  # numbers of every length
            nums = " ".join(str(rng.randint(0, 10 ** rng.randint(1, 7))) for _ in range(6))
            price = f"${rng.randint(1, 99999)}.{rng.randint(0, 99)}"
            lines.append(f"{rng.choice(words)} {nums}, {price}")
        else:  # prose, whitespace runs, CJK and emoji
            gap = rng.choice((" ", "  ", "\t", "\n", "\n\n", "   "))
            lines.append(gap.join(rng.choice(words) for _ in range(rng.randint(4, 16))))
    return lines


def bpe_tokenizer(family: str, dst, vocab_size: int = 1200):
    """A byte-level BPE tokenizer of the family, trained here, saved by transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = _pre_tokenizer(family)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    fast.save_pretrained(dst)
    if family in CLASSES:  # name the family's class, as its checkpoints do
        path = dst / "tokenizer_config.json"
        config = json.loads(path.read_text())
        path.write_text(json.dumps({**config, "tokenizer_class": CLASSES[family]}))
    AutoTokenizer.from_pretrained(dst)  # transformers reads it back: a sound save
    return dst
