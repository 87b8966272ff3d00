"""Is a model's answer right? Extract the final answer and compare it with a reference.

math-verify does the mathematical comparison (1/2 = 0.5 = \\frac{1}{2}); plain
text falls back to a normalised exact match.
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\boxed\s*\{")
_ANSWER_LINE = re.compile(r"(?:final answer|answer)\s*(?:is\s*:?|:)\s*(.+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, with nested braces balanced."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    i, depth = starts[-1], 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j].strip()
    return None


def extract_answer(text: str) -> str | None:
    """\\boxed{} first, then an "answer:" line, then the last number in the text."""
    boxed = last_boxed(text)
    if boxed:
        return boxed
    lines = _ANSWER_LINE.findall(text)
    if lines:
        return lines[-1].strip().rstrip(".").strip("*$ ")
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


# A number as a final answer: 42, -3.5, 1,024, 3/4, \frac{3}{4} (after compact()).
_LITERAL = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\d+/\d+|-?\\[dt]?frac\{\d+\}\{\d+\}")


def compact(text: str) -> str:
    """Drop spacing, dollar signs, a trailing full stop and an `x =` prefix."""
    text = re.sub(r"\s+|\$|\\[,;!]", "", text).rstrip(".")
    return re.sub(r"^[a-zA-Z]=", "", text)


def normalise(text: str) -> str:
    return re.sub(r"[\s.*$]+", " ", text).strip().lower()


def is_correct(reply: str, reference: str) -> bool:
    """True when the reply's final answer matches the reference."""
    predicted = extract_answer(reply)
    if predicted is None:
        return False
    if normalise(predicted) == normalise(reference):
        return True
    if _LITERAL.fullmatch(compact(reference)) and not _LITERAL.fullmatch(compact(predicted)):
        # A numeric answer must be a number: math-verify would evaluate "17 × 19" and
        # call it 323, and GRPO learned to copy the question into \boxed{} for that reward.
        return False
    try:
        from math_verify import parse, verify

        gold = parse(f"${reference}$")
        answer = parse(f"${predicted}$")
        return bool(gold and answer and verify(gold, answer))
    except Exception:  # math-verify raises on unparsable input; that is "not equal"
        return False
