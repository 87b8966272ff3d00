"""Which llama.cpp pre-tokenizer cuts text into words as a Hugging Face tokenizer does.

A first guess, read from the pre-tokenizer's structure (tokenizer.json's `pre_tokenizer`:
Split patterns, ByteLevel, Digits, Metaspace); the probe (converters/probe.py) proves it or
moves on to the next candidate. llama.cpp knows a pre-tokenizer only by name, and each name
stands for its own hard-coded split patterns.
"""

from __future__ import annotations

import re

# Tried after the guesses, in this order: the byte-level families small models ship with.
FALLBACKS = ("llama-bpe", "qwen2", "smollm", "gpt-2")

# How a split pattern groups digits, by the digit class that stands alone in it.
_DIGITS = (
    (re.compile(r"\\p\{N\}\{1,3\}"), "threes"),
    (re.compile(r"\\p\{N\}\+"), "runs"),
    (re.compile(r"\\p\{N\}(?![+*{\]])"), "each"),  # not inside a [...] class
)


def steps(pre_tokenizer: dict | None) -> list[dict]:
    """The pre-tokenizer's steps in order, Sequences flattened."""
    if not isinstance(pre_tokenizer, dict):
        return []
    if pre_tokenizer.get("type") == "Sequence":
        return [s for part in pre_tokenizer.get("pretokenizers") or [] for s in steps(part)]
    return [pre_tokenizer]


def _pattern(step: dict) -> str:
    pattern = step.get("pattern")
    if isinstance(pattern, dict):
        pattern = pattern.get("Regex", re.escape(str(pattern.get("String", ""))))
    return pattern if isinstance(pattern, str) else ""


def _digits(pattern: str) -> str:
    return next((name for found, name in _DIGITS if found.search(pattern)), "")


def guesses(pre_tokenizer: dict | None) -> list[str]:
    """llama.cpp names whose split patterns this structure spells, best first (maybe none)."""
    parts = steps(pre_tokenizer)
    splits = [_pattern(s) for s in parts if s.get("type") == "Split"]
    words = any(s.get("type") == "ByteLevel" and s.get("use_regex", True) for s in parts)
    each_digit = any(s.get("type") == "Digits" and s.get("individual_digits") for s in parts)
    if splits:
        pattern = splits[-1]  # the word pattern comes last; earlier splits cut coarser
        digits = _digits(pattern)
        if r"\p{Lu}" in pattern:  # words cut at case changes: the tiktoken o200k style
            return ["gpt-4o"] if digits == "threes" else ["tekken"]
        if r"[\r\n]" in pattern or r"\r\n" in pattern:  # newlines kept apart from indents
            return {"threes": ["llama-bpe"], "each": ["qwen2"]}.get(digits, [])
        return {"runs": ["gpt-2"], "each": ["smollm"]}.get(digits, [])
    if words:  # GPT-2's own word pattern, inside the ByteLevel step
        return ["smollm"] if each_digit else ["gpt-2"]
    return []


def candidates(*pre_tokenizers: dict | None) -> list[str]:
    """Guesses for each structure given (what transformers runs, what the file says), then
    the fallbacks, each name once."""
    names = [n for p in pre_tokenizers for n in guesses(p)] + list(FALLBACKS)
    return list(dict.fromkeys(names))


def describe(pre_tokenizer: dict | None) -> str:
    """A few words for a message: the steps, and what sets them apart."""
    words = []
    for step in steps(pre_tokenizer):
        kind = str(step.get("type"))
        if kind == "Split":
            digits = _digits(_pattern(step))
            kind += f"(digits {digits})" if digits else "(custom pattern)"
        elif kind == "ByteLevel" and step.get("add_prefix_space"):
            kind += "(space before the text)"
        elif kind == "Digits":
            kind += "(each)" if step.get("individual_digits") else "(runs)"
        words.append(kind)
    return " + ".join(words) or "none"
