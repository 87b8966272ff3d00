"""Reasoning budget controls ("budget forcing", s1 paper): cap, floor, or skip thinking.

- think_budget N: before the reply has spent N tokens thinking, the engine writes the
  closing tag itself (plus a blank line as the bridge to the answer) and lets the
  model answer; the tag's tokens count as thinking, so the thinking shown is at most N
  tokens (for an N shorter than the tag: one token of the model's, then the tag).
- min_think N: until N thinking tokens, the first token of the closing tag is
  banned; when the model's top choice was to close, " Wait" is forced instead so
  it reconsiders (ending the reply is banned as well).
- no_think: the prompt carries an empty thinking block (or the template's own
  switch, `enable_thinking=False` for Qwen3), so the reply is all answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from localthink.engine.protocol import ThinkTags
from localthink.engine.splitter import Phase


@dataclass(frozen=True)
class BudgetPlan:
    think_budget: int | None = None
    min_think: int | None = None
    no_think: bool = False

    @property
    def skips_thinking(self) -> bool:
        return self.no_think or self.think_budget == 0


def close_text(tags: ThinkTags) -> str:
    """What the engine writes when it ends the thinking itself."""
    return f"\n{tags.close}\n\n"


def prompt_without_thinking(prompt: str, tags: ThinkTags, opens_thinking: bool) -> str:
    """Make a rendered prompt start the reply after an empty thinking block."""
    if prompt.rstrip().endswith(tags.close):
        return prompt  # the template's own switch already closed it
    if opens_thinking:
        return prompt + close_text(tags)
    return prompt + f"{tags.open}\n\n{tags.close}\n\n"


def min_think_processor(
    thinking_tokens: Callable[[], int],
    phase: Callable[[], Phase],
    minimum: int,
    close_first: int,
    wait: int,
    eos: int,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A llama-cpp-python logits processor that keeps the model thinking until `minimum`."""

    def process(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if phase() is Phase.THINK and thinking_tokens() < minimum:
            if int(np.argmax(scores)) == close_first:  # it wanted to stop: make it say "Wait"
                scores[wait] = scores.max() + 10.0
            scores[close_first] = -np.inf
            scores[eos] = -np.inf  # ending the reply would skip the minimum too
        return scores

    return process
