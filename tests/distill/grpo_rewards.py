"""A user-defined GRPO reward (imported by name, as a user's own would be)."""


def length(completion: str, task) -> float:
    """Longer is better, capped: differs between almost any two samples."""
    return min(len(completion), 100) / 10


def constant(completion: str, task) -> float:
    """Every completion ties: no group has anything to learn from."""
    return 1.0


def first_character(completion: str, task) -> float:
    """Differs between samples even of a student with random weights (whose completions all
    run the full length, so `length` ties them)."""
    return ord(completion[0]) % 7 / 7 if completion else 0.0
