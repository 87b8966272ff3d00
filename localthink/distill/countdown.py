"""Countdown: evaluate a model's expression safely, and make solvable targets.

Model text is never passed to eval(): it is parsed with `ast` and only numbers,
+ - * / and parentheses are accepted.
"""

from __future__ import annotations

import ast
import operator
import random
import re
from collections import Counter
from fractions import Fraction

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class BadExpression(ValueError):
    pass


def _value(node: ast.AST, used: list[int]) -> Fraction:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _value(node.left, used), _value(node.right, used)
        if isinstance(node.op, ast.Div) and right == 0:
            raise BadExpression("division by zero")
        return Fraction(_OPS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, used)
    raise BadExpression(f"not allowed: {type(node).__name__}")


def evaluate(expr: str, used: list[int] | None = None) -> Fraction:
    """The value of an arithmetic expression (× ÷ accepted), or BadExpression."""
    text = expr.replace("×", "*").replace("÷", "/").replace("\\times", "*").replace("\\div", "/")
    if len(text) > 200 or not re.fullmatch(r"[\d\s+\-*/().]+", text):
        raise BadExpression("only numbers, + - × ÷ and parentheses")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise BadExpression("not an expression") from None
    return _value(tree.body, [] if used is None else used)


def check(expr: str, numbers: list[int], target: int) -> bool:
    """True when `expr` uses only the given numbers (each at most once) and equals target."""
    used: list[int] = []
    try:
        value = evaluate(expr, used)
    except BadExpression:
        return False
    return value == target and not (Counter(used) - Counter(numbers))


def solvable_target(numbers: list[int], rng: random.Random) -> int:
    """A positive integer target reachable by combining some of the numbers."""
    while True:
        pool = rng.sample(numbers, k=rng.randint(2, len(numbers)))
        value = Fraction(pool[0])
        for n in pool[1:]:
            op = rng.choice("+-*/")
            value = {"+": value + n, "-": value - n, "*": value * n, "/": value / n}[op]
        if value.denominator == 1 and 0 < value <= 1000:
            return int(value)


def target(reference: str) -> int | None:
    """The whole number a task's answer names ("23", "23.0", " 23 "), or None."""
    match = re.fullmatch(r"\s*([+-]?\d{1,30})(?:\.0*)?\s*", reference)
    return int(match.group(1)) if match else None


def numbers_in_question(question: str) -> list[int]:
    """The given numbers, as `distill tasks` writes them: "[3, 4, 5]"; [] when not so written."""
    match = re.search(r"\[([\d,\s]+)\]", question)
    return [int(x) for x in re.findall(r"\d{1,30}", match.group(1))] if match else []
