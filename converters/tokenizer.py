"""Carry a Hugging Face tokenizer (tokenizer.json: byte-level or SentencePiece BPE) into GGUF."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from converters.checkpoint import CheckpointError

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")

# Like llama.cpp's converter, the pre-tokenizer is recognised by how it splits a check
# text (digits, spaces, accents, CJK, emoji…); llama.cpp picks its regex by this name.
CHECK_TEXT = "Hello world!  123 4567 ünïcödé 你好 🙂 \n\n\t don't <think>x</think> $1,000.50"
KNOWN_PRE = {
    "bb3abd46ec373a50": "smollm",
}
PRE_BY_MODEL_TYPE = {"qwen2": "qwen2", "qwen3": "qwen2", "llama": "llama-bpe"}


def _special_content(value) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value


def pre_tokenizer_name(folder: Path, model_type: str) -> str:
    from tokenizers import Tokenizer

    ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(CHECK_TEXT).ids
    digest = hashlib.sha256(str(ids).encode()).hexdigest()[:16]
    return KNOWN_PRE.get(digest) or PRE_BY_MODEL_TYPE.get(model_type, "default")


def chat_template(folder: Path, tok_config: dict) -> str | None:
    template = tok_config.get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        template = next((t["template"] for t in template if t.get("name") == "default"), None)
    jinja = folder / "chat_template.jinja"
    if not template and jinja.exists():
        template = jinja.read_text(encoding="utf-8")
    return template


def thinking_template(template: str) -> str:
    """The same template, with the assistant turn opened inside <think> (as R1 distills do)."""
    return template + "{% if add_generation_prompt %}<think>\n{% endif %}"


def write_tokenizer(
    w, folder: Path, vocab_size: int, model_type: str, think_template: bool = False
) -> None:
    path = folder / "tokenizer.json"
    if not path.exists():
        raise CheckpointError(f"{folder}: no tokenizer.json (save the tokenizer with the model)")
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.get("model", {})
    if model.get("type") != "BPE":
        raise CheckpointError(
            f"{folder}: {model.get('type')} tokenizers are not supported "
            "(byte-level BPE and SentencePiece-style BPE are)"
        )
    tok_config_path = folder / "tokenizer_config.json"
    tok_config = json.loads(tok_config_path.read_text()) if tok_config_path.exists() else {}
    vocab = dict(model["vocab"])
    added = {t["content"]: t for t in data.get("added_tokens", [])}
    for content, t in added.items():
        vocab[content] = t["id"]
    size = max(vocab_size, max(vocab.values()) + 1)
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [UNUSED] * size
    for text, i in vocab.items():
        tokens[i] = text
        types[i] = NORMAL
    for t in added.values():
        types[t["id"]] = CONTROL if t.get("special") else USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    if model.get("byte_fallback"):
        _write_sentencepiece(w, data, tokens, types, merges)
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre_tokenizer_name(folder, model_type))
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
    for key, add in (
        ("bos_token", w.add_bos_token_id),
        ("eos_token", w.add_eos_token_id),
        ("pad_token", w.add_pad_token_id),
        ("unk_token", w.add_unk_token_id),
    ):
        content = _special_content(tok_config.get(key))
        if content in vocab:
            add(vocab[content])
    w.add_add_bos_token(_adds_bos(data, tok_config))
    template = chat_template(folder, tok_config)
    if template:
        w.add_chat_template(thinking_template(template) if think_template else template)


def _write_sentencepiece(w, data: dict, tokens: list, types: list, merges: list) -> None:
    """A SentencePiece BPE vocabulary (Gemma, Llama 2, Mistral) as llama.cpp's "llama" model.

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
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_add_space_prefix(_prepends_space(data))


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
