"""The values a count or sampling setting may take: one place for flags, config.toml,
`localthink set` and the user's models.toml, so each says the same thing."""

from __future__ import annotations

import math

# llama.cpp's own ceiling (GGML_MAX_N_THREADS): past it, llama.cpp crashes, it does not refuse.
MAX_THREADS = 512


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# key: (test, what it must be)
_SAMPLING = {
    "temperature": (lambda v: _number(v) and v >= 0, "a number of at least 0"),
    "top_p": (lambda v: _number(v) and 0 < v <= 1, "a number above 0 and at most 1"),
    "min_p": (lambda v: _number(v) and 0 <= v <= 1, "a number from 0 to 1"),
    "top_k": (lambda v: _count(v) and v >= 0, "a whole number of at least 0 (0 = off)"),
    "repeat_penalty": (lambda v: _number(v) and v > 0, "a number above 0"),
    "max_tokens": (lambda v: _count(v) and v >= 1, "a whole number of at least 1"),
}


def sampling_problem(key: str, value) -> str | None:
    """What is wrong with a sampling value ("must be …"), or None when it is fine."""
    test, want = _SAMPLING[key]
    return None if test(value) else f"must be {want}"


def sampling_flag(key: str):
    """An argparse type for a sampling flag (argparse makes the message a usage error)."""
    import argparse

    def parse(text: str):
        try:
            value = int(text) if key in ("top_k", "max_tokens") else float(text)
        except ValueError:
            value = None
        problem = sampling_problem(key, value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
        return value

    return parse
