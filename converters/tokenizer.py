"""Carry a Hugging Face tokenizer (tokenizer.json: byte-level or SentencePiece BPE) into GGUF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from converters.checkpoint import CheckpointError, read_json, read_text

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")

GENERATION_FILES = ("generation_config.json", "config.json")
SPECIAL_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token")


def _special_content(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def load_tokenizer(path: Path):
    """tokenizer.json as the tokenizers library reads it: the check that its parts are sound."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the library reports a malformed file as a bare Exception
        reason = (str(exc).splitlines() or ["unreadable"])[0]
        raise CheckpointError(
            f"{path}: not a tokenizer the tokenizers library reads ({reason})"
        ) from None


def chat_template(folder: Path, tok_config: dict) -> str | None:
    template = tok_config.get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        named = (t for t in template if isinstance(t, dict) and t.get("name") == "default")
        template = next((t.get("template") for t in named), None)
    if template is not None and not isinstance(template, str):
        raise CheckpointError(f"{folder / 'tokenizer_config.json'}: chat_template is not text")
    jinja = folder / "chat_template.jinja"
    if not template and jinja.exists():
        template = read_text(jinja)
    return template


def thinking_template(template: str, bos: str = "", eos: str = "") -> str:
    """The same template, with the assistant turn opened inside <think> (as R1 distills do).

    Unchanged when its generation prompt already opens <think> (a student `distill train`
    saved): judged by rendering it, as the app will, since the text can open it many ways.
    """
    from localthink.engine.protocol import ThinkTags
    from localthink.engine.template import ChatTemplate

    if ChatTemplate(template, bos, eos).opens_thinking(ThinkTags()):
        return template
    return template + "{% if add_generation_prompt %}" + ThinkTags().open + "\n{% endif %}"


@dataclass
class TokenizerData:
    """What the GGUF holds of a checkpoint's tokenizer, read and checked once."""

    path: Path  # tokenizer.json
    pre_tokenizer: dict | None  # as tokenizer.json states it
    sentencepiece: bool  # llama.cpp's "llama" model (scores), else "gpt2" (byte-level merges)
    tokens: list[str]
    types: list[int]
    merges: list[str]
    scores: list[float]
    ids: dict[str, int]  # bos_token, eos_token… → id
    add_bos: bool
    add_space_prefix: bool
    template: str | None


def read_tokenizer(folder: Path, vocab_size: int) -> TokenizerData:
    path = folder / "tokenizer.json"
    if not path.exists():
        raise CheckpointError(f"{folder}: no tokenizer.json (save the tokenizer with the model)")
    data = read_json(path)
    load_tokenizer(path)  # the file's parts, checked: what follows can index them
    model = data["model"]
    if model.get("type") != "BPE":
        raise CheckpointError(
            f"{folder}: {model.get('type')} tokenizers are not supported "
            "(byte-level BPE and SentencePiece-style BPE are)"
        )
    tok_config = read_json(folder / "tokenizer_config.json", optional=True)
    vocab = dict(model["vocab"])
    added = {t["content"]: t for t in data.get("added_tokens") or []}
    for content, t in added.items():
        vocab[content] = t["id"]
    if not vocab:
        raise CheckpointError(f"{path}: the vocabulary is empty")
    # llama.cpp sizes the embedding matrix by the token list: a longer one would not load
    if max(vocab.values()) >= vocab_size:
        raise CheckpointError(
            f"{path}: token ids go up to {max(vocab.values())}, past the vocab_size "
            f"{vocab_size} of config.json"
        )
    ids = _special_ids(folder, tok_config, vocab, vocab_size)
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [UNUSED] * vocab_size
    for text, i in vocab.items():
        tokens[i] = text
        types[i] = NORMAL
    for t in added.values():
        types[t["id"]] = CONTROL if t.get("special") else USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    spm = bool(model.get("byte_fallback"))
    return TokenizerData(
        path=path,
        pre_tokenizer=data.get("pre_tokenizer"),
        sentencepiece=spm,
        tokens=tokens,
        types=types,
        merges=merges or ([] if spm else [_inert_merge(vocab)]),
        scores=_sentencepiece_scores(data, tokens, types, merges) if spm else [],
        ids=ids,
        add_bos=_adds_bos(data, tok_config),
        add_space_prefix=spm and _prepends_space(data),
        template=chat_template(folder, tok_config),
    )


def write_tokenizer(w, tok: TokenizerData, pre: str, think_template: bool = False) -> None:
    """The tokenizer's keys, with `pre` as llama.cpp's pre-tokenizer (byte-level BPE only:
    llama.cpp's SentencePiece model has none)."""
    if tok.sentencepiece:
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tok.tokens)
        w.add_token_scores(tok.scores)
        w.add_token_types(tok.types)
        w.add_add_space_prefix(tok.add_space_prefix)
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tok.tokens)
        w.add_token_types(tok.types)
        w.add_token_merges(tok.merges)
    adders = (w.add_bos_token_id, w.add_eos_token_id, w.add_pad_token_id, w.add_unk_token_id)
    for key, add in zip(SPECIAL_KEYS, adders, strict=True):
        if key in tok.ids:
            add(tok.ids[key])
    w.add_add_bos_token(tok.add_bos)
    template = tok.template
    if template and think_template:
        bos, eos = (
            tok.tokens[tok.ids[k]] if k in tok.ids else "" for k in ("bos_token", "eos_token")
        )
        template = thinking_template(template, bos, eos)
    if template:
        w.add_chat_template(template)


def _special_ids(folder: Path, tok_config: dict, vocab: dict, size: int) -> dict[str, int]:
    """{"bos_token": id, …}: named in tokenizer_config.json, or for bos and eos, numbered in
    generation_config.json or config.json (a save without tokenizer_config.json has only those).

    Without an eos id llama.cpp cannot tell where a reply ends, so its absence is an error.
    """
    ids = {}
    for key in SPECIAL_KEYS:
        content = _special_content(tok_config.get(key))
        if content in vocab:
            ids[key] = vocab[content]
    configs = [read_json(folder / name, optional=True) for name in GENERATION_FILES]
    text = configs[1].get("text_config")  # multimodal: ids may sit there
    configs.append(text if isinstance(text, dict) else {})
    for key in ("bos_token", "eos_token"):
        numbered = (_first_id(config.get(f"{key}_id")) for config in configs)
        found = next((i for i in numbered if i is not None and 0 <= i < size), None)
        if key not in ids and found is not None:
            ids[key] = found
    if "eos_token" not in ids:
        raise CheckpointError(
            f"{folder}: no eos token in tokenizer_config.json, generation_config.json "
            "or config.json (llama.cpp would not know where a reply ends)"
        )
    return ids


def _inert_merge(vocab: dict) -> str:
    """A merge whose result is no token, for a BPE vocabulary that has no merges (every
    byte its own token): llama.cpp refuses a BPE vocabulary without a merges list, and
    gguf-py cannot write an empty one. llama.cpp splits a merged piece that is not in the
    vocabulary back into its bytes, so this merge changes no tokenization."""
    for text in vocab:
        if text + text not in vocab and " " not in text:
            return f"{text} {text}"
    raise CheckpointError("tokenizer.json: a BPE vocabulary with no merges and no usable token")


def _first_id(value) -> int | None:
    """An id, or the first of a list (Llama 3 lists end of text, end of turn…): GGUF holds one
    eos id, and llama.cpp recognises the usual end-of-turn tokens itself by their text."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sentencepiece_scores(data: dict, tokens: list, types: list, merges: list) -> list[float]:
    """Scores for a SentencePiece BPE vocabulary (Gemma, Llama 2, Mistral), llama.cpp's "llama"
    model; marks byte pieces and the unknown token in `types` on the way.

    llama.cpp merges the adjacent pair whose result has the highest score, where
    transformers applies its merges in list order; transformers built that list from the
    SentencePiece scores, so the rank of the first merge that makes a piece is its score.
    Written by hand because tokenizer.json is all a transformers 5 save leaves
    (no tokenizer.model to read with sentencepiece).
    """
    scores = [0.0] * len(tokens)
    made_by = {}
    for rank, merge in enumerate(merges):
        made_by.setdefault(merge.replace(" ", ""), rank)
    for i, (text, kind) in enumerate(zip(tokens, types, strict=True)):
        if kind != NORMAL:
            continue
        if BYTE_PIECE.fullmatch(text):
            types[i] = BYTE
        else:
            scores[i] = -float(made_by.get(text, len(merges) + i))
    unk = data["model"].get("unk_token")
    if unk in tokens:
        types[tokens.index(unk)] = UNKNOWN
    return scores


def _prepends_space(data: dict) -> bool:
    """Llama 2 style (a "▁" put before the text) or Gemma style (none)."""
    steps = []
    for part in (data.get("normalizer"), data.get("pre_tokenizer")):
        if part:
            steps += part.get("normalizers") or part.get("pretokenizers") or [part]
    for step in steps:
        if step.get("type") == "Prepend":
            return True
        if step.get("type") == "Metaspace":
            if "add_prefix_space" in step:  # tokenizers < 0.19
                return bool(step["add_prefix_space"])
            return step.get("prepend_scheme", "always") != "never"
    return False


def _adds_bos(data: dict, tok_config: dict) -> bool:
    if "add_bos_token" in tok_config:
        return bool(tok_config["add_bos_token"])
    single = (data.get("post_processor") or {}).get("single") or []
    return bool(single) and "SpecialToken" in single[0]
