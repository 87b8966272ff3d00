"""Thinking versus answering, query by query and model by model, from the stored replies."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from localthink.store.db import Store


@dataclass(frozen=True)
class QueryRow:
    message_id: int
    conversation_id: int
    created_at: float
    source: str
    model: str
    question: str
    thinking_tokens: int
    answer_tokens: int
    thinking_s: float
    answer_s: float
    stop_reason: str
    cut_off_thinking: bool
    think_budget: int | None
    correct: bool | None

    @property
    def ratio(self) -> float | None:
        return self.thinking_tokens / self.answer_tokens if self.answer_tokens else None

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class ModelSummary:
    model: str
    replies: int
    median_thinking: float
    p90_thinking: float
    median_ratio: float | None
    cut_off_share: float
    accuracy: float | None
    judged: int


_QUERY = """
SELECT m.id, m.conversation_id, m.created_at, c.source, m.model,
  (SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id
     AND u.role = 'user' AND u.id < m.id ORDER BY u.id DESC LIMIT 1) AS question,
  m.thinking_tokens, m.answer_tokens, m.thinking_s, m.answer_s, m.stop_reason,
  m.thinking_closed, m.think_budget, m.correct
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.role = 'assistant' AND m.thinking_tokens IS NOT NULL
"""


def query_rows(
    store: Store, model: str | None = None, since: float | None = None, chat: int | None = None
) -> list[QueryRow]:
    """Every reply with figures, oldest first, optionally for one model, date or chat."""
    sql, args = _QUERY, []
    if model:
        sql += " AND m.model = ?"
        args.append(model)
    if since is not None:
        sql += " AND m.created_at >= ?"
        args.append(since)
    if chat is not None:
        sql += " AND m.conversation_id = ?"
        args.append(chat)
    rows = store.query(sql + " ORDER BY m.created_at, m.id", args)
    return [
        QueryRow(
            message_id=r[0],
            conversation_id=r[1],
            created_at=r[2],
            source=r[3],
            model=r[4],
            question=r[5] or "",
            thinking_tokens=r[6] or 0,
            answer_tokens=r[7] or 0,
            thinking_s=max(r[8] or 0.0, 0.0),  # rows stored before figures were checked
            answer_s=max(r[9] or 0.0, 0.0),
            stop_reason=r[10] or "",
            cut_off_thinking=r[10] == "length" and r[11] == 0,
            think_budget=r[12],
            correct=None if r[13] is None else bool(r[13]),
        )
        for r in rows
    ]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def summarise(rows: list[QueryRow]) -> list[ModelSummary]:
    by_model: dict[str, list[QueryRow]] = {}
    for r in rows:
        by_model.setdefault(r.model, []).append(r)
    out = []
    for model, rs in sorted(by_model.items()):
        thinking = [r.thinking_tokens for r in rs]
        ratios = [r.ratio for r in rs if r.ratio is not None]
        judged = [r.correct for r in rs if r.correct is not None]
        out.append(
            ModelSummary(
                model=model,
                replies=len(rs),
                median_thinking=statistics.median(thinking),
                p90_thinking=percentile(thinking, 90),
                median_ratio=statistics.median(ratios) if ratios else None,
                cut_off_share=sum(r.cut_off_thinking for r in rs) / len(rs),
                accuracy=sum(judged) / len(judged) if judged else None,
                judged=len(judged),
            )
        )
    return out
