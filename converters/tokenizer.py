"""Carry a Hugging Face tokenizer (tokenizer.json, BPE/byte-level) into GGUF metadata."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from converters.checkpoint import CheckpointError

NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5

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
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise CheckpointError(
            f"{folder}: only byte-level BPE tokenizers are supported "
            f"(this one is {model.get('type')}, SentencePiece-style)"
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
    w.add_add_bos_token(bool(tok_config.get("add_bos_token", False)))
    template = chat_template(folder, tok_config)
    if template:
        w.add_chat_template(thinking_template(template) if think_template else template)
