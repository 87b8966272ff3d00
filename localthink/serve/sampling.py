"""The sampling fields both dialects take, checked once (pydantic) and turned into
SamplingParams: values a request leaves out come from the model's own defaults."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from localthink.engine.protocol import SamplingParams

Finite = Annotated[float, Field(allow_inf_nan=False)]


class SamplingFields(BaseModel):
    model_config = ConfigDict(extra="allow")  # clients send more than we use
    temperature: Finite | None = Field(None, ge=0)
    top_p: Finite | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0)
    min_p: Finite | None = Field(None, ge=0, le=1)
    repeat_penalty: Finite | None = Field(None, gt=0)
    seed: int | None = None

    def sampling(self, **more) -> SamplingParams:
        """These fields (and `more`: max_tokens, thinking budget) as SamplingParams."""
        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            min_p=self.min_p,
            repeat_penalty=self.repeat_penalty,
            seed=self.seed,
            **more,
        )
