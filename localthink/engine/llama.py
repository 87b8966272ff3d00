"""The product engine: llama-cpp-python running a GGUF on CPU, Metal or CUDA."""

from __future__ import annotations

import codecs
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

# llama.cpp's libraries must load before numpy's (budget, gguf): with a CUDA build of
# llama-cpp-python, numpy's bundled OpenBLAS and gfortran loaded first made every model load
# crash (SIGSEGV, even with no layer offloaded; seen on an H100 with numpy 2.5.2, and
# llama-cpp-python#1581 reports it with pandas on Windows). Importing llama_cpp loads them.
import llama_cpp

from localthink.engine.budget import (
    BudgetPlan,
    close_text,
    min_think_processor,
    prompt_without_thinking,
)
from localthink.engine.protocol import (
    DEFAULT_MAX_TOKENS,
    Event,
    LoadOptions,
    Message,
    ModelInfo,
    SamplingParams,
    ThinkTags,
)
from localthink.engine.reply import ReplyBuilder
from localthink.engine.splitter import Phase
from localthink.engine.template import ChatTemplate, template_for
from localthink.engine.threads import ThreadTuner
from localthink.errors import GenerationError, ModelLoadError, PromptTooLongError
from localthink.models.fit import gpu_layers_that_fit, gpu_memory_bytes
from localthink.models.gguf_file import GGUFInfo, read_gguf_info

DEFAULT_CTX = 8192
# llama.cpp's own sampling defaults, used when neither the model nor the user sets one.
BASE_SAMPLING = {
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.0,
}


def default_threads() -> int:
    """The physical cores this process may use (llama.cpp gains nothing from a core's
    second hyper-thread); on Apple silicon, the performance cores."""
    if sys.platform == "darwin":
        with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
            out = subprocess.run(
                ["sysctl", "-n", "hw.perflevel0.physicalcpu"], capture_output=True, text=True
            )
            return max(1, int(out.stdout))
    if hasattr(os, "sched_getaffinity"):  # Linux: one thread per core of the CPUs we may use
        return physical_cores(os.sched_getaffinity(0))
    # elsewhere, assume two hyper-threads a core
    return max(1, (os.cpu_count() or 2) // 2)


def physical_cores(cpus: set[int], sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """How many cores these logical CPUs sit on: hyper-threads of one core share a
    thread_siblings_list (a CPU whose topology cannot be read counts as its own core)."""
    cores = set()
    for cpu in cpus:
        try:
            cores.add(
                (sysfs / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text().strip()
            )
        except OSError:
            cores.add(f"cpu{cpu}")
    return max(1, len(cores))


def gpu_backend() -> str:
    """CUDA, Metal, Vulkan or CPU: which backend this llama.cpp build offloads to."""

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
        # the user's count stays; else the count follows what is fastest while it runs
        self.tuner = ThreadTuner.for_engine(
            options.n_threads,
            default_threads(),
            self._set_threads,
            beside_window=options.beside_window,
        )
        self.info = ModelInfo(
            name=name or self.gguf.name,
            path=str(self.gguf.path),
            architecture=self.gguf.architecture,
            quant=self.gguf.quant,
            size_bytes=self.gguf.size_bytes,
            n_ctx=self.n_ctx,
            backend=gpu_backend() if self._gpu_layers else "CPU",
            template_source="gguf" if self.template.from_gguf else "fallback (ChatML)",
            cpu_threads=self.tuner.most,
        )

    def _load(self, options: LoadOptions):

        from localthink.engine.llama_log import quiet_llama_logs

        quiet_llama_logs()
        n_ctx = options.n_ctx or min(self.gguf.context_length or DEFAULT_CTX, DEFAULT_CTX)
        self._gpu_layers = options.n_gpu_layers  # the user's --gpu-layers, used as is
        if self._gpu_layers is None:
            self._gpu_layers = self._layers_that_fit(n_ctx)
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

    def _set_threads(self, n: int) -> None:
        # prompt evaluation (batch) follows generation's count, as llama.cpp's -tb does -t
        llama_cpp.llama_set_n_threads(self._llm.ctx, n, n)

    def _layers_that_fit(self, n_ctx: int) -> int:
        """As many blocks as free VRAM holds; all (-1) when VRAM cannot be read, as
        llama.cpp itself would, so a GPU nvidia-smi cannot see still gets used."""
        if not llama_cpp.llama_supports_gpu_offload():
            return 0
        vram = gpu_memory_bytes()
        if vram is None:
            return -1
        return gpu_layers_that_fit(self.gguf.path, vram, n_ctx)

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

    def _prompt(self, messages: list[Message], plan: BudgetPlan) -> tuple[list[int], bool]:
        """The prompt's tokens for a chat, and whether the reply starts inside thinking."""
        text = self.template.render(messages, enable_thinking=not plan.skips_thinking)
        starts_inside = self.starts_inside
        if plan.skips_thinking:
            text = prompt_without_thinking(text, self.tags, self.starts_inside)
            starts_inside = False
        return self.tokenize(text), starts_inside

    def prompt_tokens(self, messages: list[Message], params: SamplingParams) -> int:
        """How many tokens the prompt for these messages takes, as `stream` would build it."""
        plan = BudgetPlan(params.think_budget, params.min_think, params.no_think)
        return len(self._prompt(messages, plan)[0])

    def stream(
        self,
        messages: list[Message],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Generate one reply, yielding ThinkDelta/AnswerDelta events, then Done."""
        plan = BudgetPlan(params.think_budget, params.min_think, params.no_think)
        prompt, starts_inside = self._prompt(messages, plan)
        yield from self._generate(prompt, params, plan, cancel, starts_inside=starts_inside)

    def complete(
        self, text: str, params: SamplingParams, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        """Continue raw text, no chat template and no thinking split: all AnswerDelta."""
        prompt = self.tokenize(text)
        yield from self._generate(prompt, params, BudgetPlan(), cancel, split=False)

    def _generate(
        self,
        prompt: list[int],
        params: SamplingParams,
        plan: BudgetPlan,
        cancel: threading.Event | None,
        *,
        starts_inside: bool = False,
        split: bool = True,
    ) -> Iterator[Event]:
        """The one token loop every reply takes (chat or plain completion)."""
        n_ctx = self.n_ctx
        if len(prompt) >= n_ctx:
            raise PromptTooLongError(
                f"prompt is {len(prompt)} tokens but the context holds {n_ctx} (raise --ctx)"
            )
        p = params.merged_over(BASE_SAMPLING)
        with self._lock:
            self.tuner.new_reply()
            cached = self.cached_prefix(prompt)
            builder = ReplyBuilder(
                len(prompt), len(prompt) - cached, self.tags, starts_inside, split=split
            )
            if p.seed is not None:
                self._llm.set_seed(p.seed)
            wanted = p.max_tokens or DEFAULT_MAX_TOKENS
            room = n_ctx - len(prompt)
            limit = min(wanted, room)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            vocab = self._llm._model.vocab
            forced_close = self._special_ids(close_text(self.tags))
            # the closing tag the engine writes counts as thinking too: close early enough
            # that the whole thinking fits the budget (a budget shorter than the tag itself
            # still gets one token of the model's own, then the tag)
            close_at = max(1, (plan.think_budget or 0) - len(forced_close))
            # cut by the reply's own limit, or because the context is full
            reason = "length" if wanted <= room else "context"
            try:

                def start(context: list[int]):
                    return self._llm.generate(
                        context,
                        top_k=p.top_k,
                        top_p=p.top_p,
                        min_p=p.min_p,
                        temp=p.temperature,
                        repeat_penalty=p.repeat_penalty,
                        logits_processor=self._processors(plan, builder),
                    )

                tokens = start(prompt)
                generated: list[int] = []
                token, n = next(tokens), 1
                while True:
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        reason = "done"
                        break
                    generated.append(token)
                    piece = self._llm.detokenize([token], special=False)
                    yield from builder.token(decoder.decode(piece))
                    if cancel is not None and cancel.is_set():
                        reason = "stopped"
                        break
                    if n >= limit:
                        break
                    if (
                        plan.think_budget
                        and builder.splitter.phase is Phase.THINK
                        and builder.stats.thinking_tokens >= close_at
                    ):  # out of thinking budget: close the thinking for the model
                        yield from builder.token(close_text(self.tags), n_tokens=len(forced_close))
                        generated += forced_close
                        tokens.close()
                        # a new generation over the same context: the KV cache keeps
                        # everything so far, only the forced tokens are evaluated
                        tokens = start(prompt + generated)
                        token = next(tokens)  # evaluates the forced tokens: not timed
                    else:
                        token = self.tuner.decode(next, tokens)
                    n += 1
                tokens.close()
            except RuntimeError as exc:
                raise GenerationError(f"generation failed in llama.cpp: {exc}") from None
            tail = decoder.decode(b"", final=True)
            if tail:
                yield from builder.token(tail)
            builder.stats.threads = self.tuner.reply_threads()
            yield from builder.finish(reason)

    def _special_ids(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _processors(self, plan: BudgetPlan, builder: ReplyBuilder):
        if not plan.min_think:
            return None
        from llama_cpp import LogitsProcessorList

        return LogitsProcessorList(
            [
                min_think_processor(
                    lambda: builder.stats.thinking_tokens,
                    lambda: builder.splitter.phase,
                    plan.min_think,
                    close_first=self._special_ids(self.tags.close)[0],
                    wait=self._special_ids(" Wait")[0],
                    eos=self._llm.token_eos(),
                )
            ]
        )

    def close(self) -> None:
        self._llm.close()
