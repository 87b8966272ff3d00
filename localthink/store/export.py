"""A stored conversation as Markdown (to read) or JSON (to process)."""

from __future__ import annotations

import json
from datetime import datetime

from localthink.store.db import Store


def _figures_text(f: dict) -> str:
    parts = []
    if f.get("thinking_tokens"):
        parts.append(f"thinking {f['thinking_tokens']} tok in {f.get('thinking_s', 0):.1f} s")
    if "answer_tokens" in f:
        parts.append(f"answer {f['answer_tokens']} tok")
    if "ttft_s" in f:
        parts.append(f"ttft {f['ttft_s']:.2f} s")
    if "gen_tokens_per_s" in f:
        parts.append(f"{f['gen_tokens_per_s']:.1f} tok/s")
    return " · ".join(parts)


def to_markdown(store: Store, conversation_id: int) -> str:
    conv = store.conversation(conversation_id)
    when = datetime.fromtimestamp(conv.created_at).strftime("%Y-%m-%d %H:%M")
    out = [f"# {conv.title}", "", f"_{when} · {conv.model}_", ""]
    for m in store.messages(conversation_id):
        if m.role == "user":
            out += ["## You", "", m.content, ""]
            continue
        status = "" if m.status == "complete" else f" ({m.status})"
        out += [f"## {m.model or 'Assistant'}{status}", ""]
        if m.thinking:
            out += ["<details><summary>Thinking</summary>", "", m.thinking, "", "</details>", ""]
        out += [m.content, ""]
        if m.figures:
            out += [f"_{_figures_text(m.figures)}_", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(store: Store, conversation_id: int) -> str:
    conv = store.conversation(conversation_id)
    data = {
        "id": conv.id,
        "title": conv.title,
        "model": conv.model,
        "created_at": conv.created_at,
        "messages": [m.to_dict() for m in store.messages(conversation_id)],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def export_conversation(store: Store, conversation_id: int, fmt: str = "md") -> str:
    return to_json(store, conversation_id) if fmt == "json" else to_markdown(store, conversation_id)
