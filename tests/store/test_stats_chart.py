"""The per-query chart of `stats --plot` and F3: stacked bars, plain text in a pipe."""

from __future__ import annotations

from localthink.engine.protocol import ReplyStats
from localthink.stats_chart import ANSWER, THINK, plot
from localthink.store.db import open_store
from localthink.store.stats import query_rows
from tests.run_cli import localthink

REPLIES = [(300, 100), (40, 160), (0, 80), (120, 0)]  # thinking, answer tokens


def store_replies(store) -> list[int]:
    ids = []
    for thinking, answer in REPLIES:
        conv = store.new_conversation("q", "m")
        store.add_message(conv.id, "user", "question")
        mid = store.add_message(conv.id, "assistant", model="m", status="streaming")
        stats = ReplyStats(thinking_tokens=thinking, answer_tokens=answer, stop_reason="done")
        store.update_reply(mid, "t", "a", "complete", stats.to_dict())
        ids.append(mid)
    return ids


def test_each_query_is_one_stacked_bar_in_proportion(isolated_home):
    with open_store() as store:
        ids = store_replies(store)
        text = plot(query_rows(store), width=60)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    rows = {mid: next(x for x in lines if x.lstrip().startswith(f"#{mid} ")) for mid in ids}
    longest = max(r.count(THINK) + r.count(ANSWER) for r in rows.values())
    assert longest >= 30  # the bars use the width they are given
    top = max(t + a for t, a in REPLIES)
    for mid, (thinking, answer) in zip(ids, REPLIES, strict=True):
        line = rows[mid]
        assert line.rstrip().endswith(f"{thinking} + {answer}")
        if thinking and answer:  # stacked: thinking first, then answer
            assert line.index(ANSWER) > line.rindex(THINK)
        assert abs(line.count(THINK) - thinking / top * longest) <= 1
        assert abs(line.count(ANSWER) - answer / top * longest) <= 1


def test_stats_plot_in_a_pipe_has_no_colour_codes(isolated_home):
    with open_store() as store:
        store_replies(store)
    result = localthink("stats", "--plot")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # it printed colours on a forced white background
    assert "thinking vs answer tokens" in result.stdout
    assert sum(f"{t} + {a}" in result.stdout for t, a in REPLIES) == len(REPLIES)
