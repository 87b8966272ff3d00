"""A request's thinking controls, in any dialect, as the engine's budget forcing.

Every control ends as `think_budget` / `no_think` on SamplingParams, the same fields
`--think-budget` and `--no-think` set: the server has no thinking logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from localthink.errors import LocalthinkError

# reasoning_effort → most thinking tokens (None: no cap beyond max_tokens). The README
# states these; a small distill thinks 300–3000 tokens on a school maths question.
EFFORT_BUDGETS: dict[str, int | None] = {
    "none": 0,
    "minimal": 128,
    "low": 512,
    "medium": 2048,
    "high": None,
}


@dataclass(frozen=True)
class ThinkingControls:
    """What one request asked for; None means "not said"."""

    effort: str | None = None  # OpenAI reasoning_effort, or Ollama think "low"/"medium"/"high"
    budget_tokens: int | None = None  # llama-server's thinking_budget_tokens (-1: no cap)
    enabled: bool | None = None  # chat_template_kwargs.enable_thinking, or Ollama think

    def budget(self) -> tuple[int | None, bool]:
        """(think_budget, no_think) for SamplingParams: turning thinking off wins, then an
        explicit token budget, then the effort level."""
        if self.enabled is False:
            return None, True
        if self.budget_tokens is not None and self.budget_tokens >= 0:
            return self.budget_tokens, self.budget_tokens == 0
        if self.budget_tokens is not None:  # -1: thinking with no cap
            return None, False
        if self.effort is not None:
            if self.effort not in EFFORT_BUDGETS:
                raise LocalthinkError(
                    f"reasoning effort {self.effort!r} is not one of {', '.join(EFFORT_BUDGETS)}"
                )
            budget = EFFORT_BUDGETS[self.effort]
            return budget, budget == 0
        return None, False


def ollama_think(value: bool | str | None) -> ThinkingControls:
    """Ollama's `think`: true / false, or an effort level as gpt-oss takes it."""
    if isinstance(value, str):
        return ThinkingControls(effort=value)
    return ThinkingControls(enabled=value)
