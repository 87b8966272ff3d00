"""The proof that a GGUF tokenizes as the checkpoint's tokenizer: fixed texts, tokenized by
transformers and by llama.cpp on the GGUF, give the same ids or the conversion says so.

transformers is the reference, not tokenizer.json alone: it is what trained the model, and
it does not always run the file as written (transformers 5 runs every qwen2 checkpoint's
tokenizer with Qwen2's own split pattern, whatever its tokenizer.json says).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from converters.checkpoint import ConversionError
from converters.pretokenizer import candidates, describe

if TYPE_CHECKING:
    from converters.tokenizer import TokenizerData

# What pre-tokenizers cut differently: indents after newlines, digit runs, whitespace runs,
# contractions and case, CJK, emoji and accents, code punctuation. Composed characters only:
# llama.cpp normalizes nothing, so a decomposed accent would fail every tokenizer with an NFC
# normalizer (Qwen's), whatever the pre-tokenizer.
PROBE_TEXTS = (
    "Hello world! I'm sure you'll see: they've done it, DON'T we?",
    "def f(x):\n    return x*2\n\n\n        pass",
    "1 22 333 4444 55555 666666 $1,000.50 3.14159 2024-06-01",
    "  two  spaces,\tthen tabs\t\t and\n\n\nnewlines \r\n end   ",
    "你好世界，这是一个测试。日本語のテキスト、한국어 문장",
    "🙂🚀 emoji 👍🏽 ünïcödé café naïve Ωmega ẞ",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }  // C++\n\treturn",
)


class PreTokenizerError(ConversionError):
    pass


@dataclass(frozen=True)
class Reference:
    """The checkpoint's tokenizer as transformers runs it: its ids for the probe texts."""

    name: str  # the class transformers chose
    pre_tokenizer: dict | None  # the structure it runs (may differ from tokenizer.json)
    ids: list[list[int]]


@dataclass(frozen=True)
class Difference:
    text: str
    want: list[int]
    got: list[int]

    def __str__(self) -> str:
        at = next(
            (i for i, (a, b) in enumerate(zip(self.want, self.got, strict=False)) if a != b),
            min(len(self.want), len(self.got)),
        )

        def part(ids: list[int]) -> str:
            shown = " ".join(map(str, ids[at : at + 4]))
            return ("… " if at else "") + (shown or "nothing") + (" …" if len(ids) > at + 4 else "")

        return (
            f"on {self.text!r} at token {at}: transformers {part(self.want)}, "
            f"llama.cpp {part(self.got)}"
        )


def reference(folder: Path) -> Reference:
    """transformers' ids for the probe texts, without BOS or EOS (llama.cpp adds them by
    its own flags, checked elsewhere); the tokenizers library's when transformers cannot
    load the tokenizer."""
    try:
        tok = _transformers_tokenizer(folder)
    except Exception:  # a tokenizer class transformers lacks, remote code…: the file alone
        from tokenizers import Tokenizer

        plain = Tokenizer.from_file(str(folder / "tokenizer.json"))
        ids = [plain.encode(t, add_special_tokens=False).ids for t in PROBE_TEXTS]
        return Reference("tokenizer.json", _structure(plain), ids)
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in PROBE_TEXTS]
    return Reference(type(tok).__name__, _structure(getattr(tok, "backend_tokenizer", None)), ids)


def _structure(tokenizer) -> dict | None:
    """The pre-tokenizer a tokenizers-library tokenizer runs, as tokenizer.json would hold it."""
    pre = getattr(tokenizer, "pre_tokenizer", None)
    return json.loads(pre.__getstate__()) if pre is not None else None


def _transformers_tokenizer(folder: Path):
    from transformers import AutoTokenizer
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()  # its notes on class choices are not the user's business
    try:
        return AutoTokenizer.from_pretrained(str(folder))
    finally:
        logging.set_verbosity(level)


def gguf_ids(path: Path, pre: str | None = None) -> list[list[int]] | None:
    """llama.cpp's ids for the probe texts on the GGUF's vocabulary (its weights are not
    read), with `pre` in place of the file's pre-tokenizer; None when llama.cpp will not load
    the vocabulary (a pre-tokenizer name it does not know)."""
    import ctypes

    import llama_cpp

    from localthink.engine.llama_log import quiet_llama_logs

    quiet_llama_logs()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    if pre is not None:
        overrides = (llama_cpp.llama_model_kv_override * 2)()  # the last one ends the list
        overrides[0].key = b"tokenizer.ggml.pre"
        overrides[0].tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR
        overrides[0].value.val_str = pre.encode()[:127]
        params.kv_overrides = ctypes.cast(overrides, type(params.kv_overrides))
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        return None
    try:
        vocab = llama_cpp.llama_model_get_vocab(model)
        return [_tokenize(vocab, t.encode()) for t in PROBE_TEXTS]
    finally:
        llama_cpp.llama_model_free(model)


def _tokenize(vocab, data: bytes) -> list[int]:
    return _tokenize_into(vocab, data, len(data) + 8)  # a token per byte, and a space prefix


def _tokenize_into(vocab, data: bytes, size: int) -> list[int]:
    import llama_cpp

    out = (llama_cpp.llama_token * size)()
    # no BOS; added tokens in the text are parsed as tokens, as transformers does
    n = llama_cpp.llama_tokenize(vocab, data, len(data), out, size, False, True)
    if n < 0:  # more room needed (-n tokens)
        return _tokenize_into(vocab, data, -n)
    return list(out[:n])


def first_difference(want: list[list[int]], got: list[list[int]]) -> Difference | None:
    return next(
        (Difference(t, a, b) for t, a, b in zip(PROBE_TEXTS, want, got, strict=True) if a != b),
        None,
    )


def first_guess(tok: TokenizerData, forced: str | None) -> str:
    """The name written first, before transformers' reference is known: --pre, else the one
    tokenizer.json's structure spells."""
    if tok.sentencepiece:  # llama.cpp's SentencePiece model has no pre-tokenizer to choose
        return "default"
    return forced or candidates(tok.pre_tokenizer)[0]


def settle(
    path: Path,
    tok: TokenizerData,
    folder: Path,
    guess: str,
    forced: str | None,
    warn: Callable[[str], None],
    relayout: Callable[[str], None],
) -> str:
    """The pre-tokenizer of the GGUF at `path` (its layout written with `guess`, its tensor
    data not yet): the name whose ids are transformers' on the probe texts.

    llama.cpp loads the file's vocabulary in a thread (a ctypes call: the GIL is released)
    while transformers loads the reference, so the probe costs about the longer of the two,
    not their sum. When `guess` differs, the other candidates are tried on the same file
    through llama.cpp's key overrides; the first that agrees is written with
    `relayout(name)` and proved again on the file. With `forced` (--pre) that name is kept
    whatever the probe finds, and a difference is a warning.
    """
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(gguf_ids, path)
        ref = reference(folder)
        got = pending.result()
    if got is None and guess == forced:
        raise PreTokenizerError(f"--pre {forced}: llama.cpp does not know this pre-tokenizer")
    first = None if got is None else first_difference(ref.ids, got)
    if got is not None and first is None:
        return guess
    tried = [] if got is None else [guess]
    if not forced and not tok.sentencepiece:
        for name in candidates(ref.pre_tokenizer, tok.pre_tokenizer):
            if name == guess or (got := gguf_ids(path, name)) is None:
                continue  # a name this build of llama.cpp lacks
            tried.append(name)
            difference = first_difference(ref.ids, got)
            if difference is None:
                relayout(name)
                _prove(path, ref)
                return name
            first = first or difference
    if first is None:
        raise PreTokenizerError(
            f"{tok.path}: llama.cpp could not load the vocabulary written from it "
            "(LOCALTHINK_DEBUG=1 shows its log)"
        )
    who = f"{tok.path} ({ref.name}; pre-tokenizer {describe(ref.pre_tokenizer)})"
    if forced:
        warn(f"--pre {forced}: llama.cpp splits text differently from {who}: {first}")
        return guess
    what = (
        "llama.cpp's SentencePiece tokenizer does not split text as it does"
        if tok.sentencepiece
        else f"no llama.cpp pre-tokenizer splits text as it does (tried {', '.join(tried)})"
    )
    raise PreTokenizerError(
        f"{who}: {what}; first difference {first} "
        "(`localthink distill convert --pre NAME` converts anyway)"
    )


def _prove(path: Path, ref: Reference) -> None:
    """The rewritten GGUF itself tokenizes as its override did."""
    got = gguf_ids(path)
    difference = None if got is None else first_difference(ref.ids, got)
    if got is None or difference:
        raise PreTokenizerError(
            f"{path}: the written GGUF does not tokenize as its probe did "
            f"({difference or 'llama.cpp cannot load it'}): a converter bug, please report it"
        )
