"""A chat's own settings (system prompt, sampling, thinking budget), kept with it as JSON."""

from __future__ import annotations

import json

from localthink.store.db import Store

KEYS = ("system", "temperature", "top_p", "max_tokens", "think_budget", "no_think")


def chat_settings(store: Store, conversation_id: int) -> dict:
    """The settings stored with a chat; unknown or damaged ones are left out."""
    try:
        settings = json.loads(store.conversation(conversation_id).settings or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in settings.items() if k in KEYS} if isinstance(settings, dict) else {}


def set_chat_settings(store: Store, conversation_id: int, settings: dict) -> None:
    unknown = set(settings) - set(KEYS)
    if unknown:
        raise ValueError(unknown)
    with store._tx() as c:
        c.execute(
            "UPDATE conversations SET settings = ? WHERE id = ?",
            (json.dumps(settings), conversation_id),
        )
