"""The product engine: llama-cpp-python running a GGUF on CPU, Metal or CUDA."""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from localthink.engine.protocol import (
    Event,
    LoadOptions,
    Message,
    ModelInfo,
    SamplingParams,
    ThinkTags,
)
from localthink.engine.reply import ReplyBuilder
from localthink.engine.template import ChatTemplate, template_for
from localthink.errors import GenerationError, ModelLoadError, PromptTooLongError
from localthink.models.gguf_file import GGUFInfo, read_gguf_info

DEFAULT_CTX = 8192
DEFAULT_MAX_TOKENS = 2048
# llama.cpp's own sampling defaults, used when neither the model nor the user sets one.
BASE_SAMPLING = {
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.0,
}


def default_threads() -> int:
    """Physical cores, roughly: llama.cpp slows down on hyper-threads."""
    return max(1, (os.cpu_count() or 2) // 2)


def gpu_backend() -> str:
    """CUDA, Metal, Vulkan or CPU: which backend this llama.cpp build offloads to."""
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        return "CPU"
    system = llama_cpp.llama_print_system_info().decode(errors="replace")
    for name in ("CUDA", "Metal", "Vulkan", "ROCm", "SYCL"):
        if name.upper() in system.upper():
            return name
    return "GPU"


class LlamaEngine:
    """Loads one GGUF and streams replies; one reply at a time."""

    def __init__(
        self,
        path: str | Path,
        options: LoadOptions = LoadOptions(),
        tags: ThinkTags = ThinkTags(),
        name: str | None = None,
    ) -> None:
        self.gguf: GGUFInfo = read_gguf_info(path)  # one-line error before llama.cpp sees it
        self.template: ChatTemplate = template_for(
            self.gguf.chat_template, self.gguf.bos_token, self.gguf.eos_token
        )
        self.tags = tags
        self.starts_inside = self.template.opens_thinking(tags)
        self._lock = threading.Lock()
        self._llm = self._load(options)
        self.info = ModelInfo(
            name=name or self.gguf.name,
            path=str(self.gguf.path),
            architecture=self.gguf.architecture,
            quant=self.gguf.quant,
            size_bytes=self.gguf.size_bytes,
            n_ctx=self.n_ctx,
            backend=gpu_backend() if self._gpu_layers else "CPU",
            template_source="gguf" if self.template.from_gguf else "fallback (ChatML)",
        )

    def _load(self, options: LoadOptions):
        import llama_cpp

        self._gpu_layers = options.n_gpu_layers
        if self._gpu_layers is None:
            self._gpu_layers = -1 if llama_cpp.llama_supports_gpu_offload() else 0
        n_ctx = options.n_ctx or min(self.gguf.context_length or DEFAULT_CTX, DEFAULT_CTX)
        try:
            return llama_cpp.Llama(
                model_path=str(self.gguf.path),
                n_ctx=n_ctx,
                n_threads=options.n_threads or default_threads(),
                n_gpu_layers=self._gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"{self.gguf.path}: llama.cpp could not load it ({exc})") from None

    @property
    def n_ctx(self) -> int:
        # llama.cpp may pad the context above what was asked; the Python side's
        # token buffer keeps the asked size, so the smaller one is the real limit.
        return min(self._llm.n_ctx(), len(self._llm.input_ids))

    def tokenize(self, text: str) -> list[int]:
        add_special = not (self.gguf.bos_token and text.startswith(self.gguf.bos_token))
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=True)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many leading prompt tokens are already in the KV cache."""
        n = 0
        for a, b in zip(self._llm._input_ids.tolist(), tokens, strict=False):
            if a != b:
                break
            n += 1
        return min(n, len(tokens) - 1)  # llama.cpp re-evaluates one token to get logits

    def stream(
        self,
        messages: list[Message],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Generate one reply, yielding ThinkDelta/AnswerDelta events, then Done."""
        import llama_cpp

        prompt = self.tokenize(self.template.render(messages))
        n_ctx = self.n_ctx
        if len(prompt) >= n_ctx:
            raise PromptTooLongError(
                f"prompt is {len(prompt)} tokens but the context holds {n_ctx} (raise --ctx)"
            )
        p = params.merged_over(BASE_SAMPLING)
        with self._lock:
            builder = ReplyBuilder(
                len(prompt), len(prompt) - self.cached_prefix(prompt), self.tags, self.starts_inside
            )
            if p.seed is not None:
                self._llm.set_seed(p.seed)
            budget = min(p.max_tokens or DEFAULT_MAX_TOKENS, n_ctx - len(prompt))
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            vocab = self._llm._model.vocab
            reason = "length"
            try:
                tokens = self._llm.generate(
                    prompt,
                    top_k=p.top_k,
                    top_p=p.top_p,
                    min_p=p.min_p,
                    temp=p.temperature,
                    repeat_penalty=p.repeat_penalty,
                )
                for n, token in enumerate(tokens, start=1):
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        reason = "done"
                        break
                    piece = self._llm.detokenize([token], special=False)
                    yield from builder.token(decoder.decode(piece))
                    if cancel is not None and cancel.is_set():
                        reason = "stopped"
                        break
                    if n >= budget:
                        break
                tokens.close()
            except RuntimeError as exc:
                raise GenerationError(f"generation failed in llama.cpp: {exc}") from None
            tail = decoder.decode(b"", final=True)
            if tail:
                yield from builder.token(tail)
            yield from builder.finish(reason)

    def close(self) -> None:
        self._llm.close()
