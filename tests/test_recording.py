"""ask/batch/compare record every reply, with budgets and verdicts; stats read them back."""

import csv
import json
import sqlite3

import pytest

from localthink.engine.protocol import ReplyStats
from localthink.stats_chart import plot
from localthink.store.db import Store, open_store
from localthink.store.schema import MIGRATIONS
from localthink.store.stats import percentile, query_rows, summarise
from tests.run_cli import localthink


def test_batch_records_every_run_with_verdicts(think_gguf, isolated_home, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "What is 2+2?", "answer": "4"}\n{broken\n'
        '{"question": "What is 3+5?", "answer": "9"}\n'
    )
    r = localthink(
        "ask",
        "--file",
        str(questions),
        "--runs",
        "2",
        "-m",
        str(think_gguf),
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "--think-budget",
        "50",
        home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    assert "q.jsonl:2: skipped" in r.stderr
    assert "2/4 correct" in r.stderr  # 3+5 is 8, so the "9" reference marks those wrong
    with open_store() as store:
        rows = query_rows(store)
    assert len(rows) == 4 and {r.source for r in rows} == {"batch"}
    assert [r.correct for r in rows] == [True, True, False, False]
    assert all(r.think_budget == 50 and r.thinking_tokens > 0 for r in rows)


def test_ask_stores_the_reply_and_its_budget(think_gguf, isolated_home):
    r = localthink(
        "ask",
        "--json",
        "-m",
        str(think_gguf),
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "--think-budget",
        "3",
        "--answer",
        "4",
        "What is 2+2?",
        home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    with open_store() as store:
        m = store.message(out["message_id"])
        row = store._conn.execute(
            "SELECT think_budget, correct FROM messages WHERE id = ?", (m.id,)
        ).fetchone()
    assert m.figures["thinking_tokens"] == out["stats"]["thinking_tokens"] <= 3 + 5
    assert tuple(row) == (3, int(out["correct"]))
    r = localthink(
        "ask", "--no-save", "-m", str(think_gguf), "--max-tokens", "5", "hi", home=isolated_home
    )
    with open_store() as store:
        assert len(query_rows(store)) == 1


def test_compare_runs_every_model_and_budget(think_gguf, isolated_home):
    r = localthink(
        "compare",
        "What is 2+2?",
        "--models",
        f"{think_gguf},smollm2-135m",
        "--budgets",
        "none,2,0",
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "--json",
        home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["model"], x["think_budget"]) for x in lines] == [
        ("smollm2-think", None),
        ("smollm2-think", 2),
        ("smollm2-think", 0),
        ("smollm2-135m", None),
        ("smollm2-135m", 2),
        ("smollm2-135m", 0),
    ]
    think = {x["think_budget"]: x["stats"]["thinking_tokens"] for x in lines[:3]}
    assert think[None] > think[2] > think[0] == 0


def _insert(store, model, thinking, answer, stop="done", closed=True, correct=None):
    conv = store.new_conversation("q", model, source="batch")
    store.add_message(conv.id, "user", f"question {thinking}")
    mid = store.add_message(conv.id, "assistant", model=model, status="streaming")
    stats = ReplyStats(
        thinking_tokens=thinking, answer_tokens=answer, stop_reason=stop, thinking_closed=closed
    )
    store.update_reply(mid, "t", "a", "complete", stats.to_dict())
    if correct is not None:
        store.set_outcome(mid, correct=int(correct))


def test_stats_summary_and_exports(isolated_home, tmp_path):
    with open_store() as store:
        for t in (100, 200, 300, 400, 1000):
            _insert(store, "a", t, 50, correct=t < 400)
        _insert(store, "a", 900, 0, stop="length", closed=False)
        _insert(store, "b", 10, 10)
        rows = query_rows(store)
        assert [r.question for r in query_rows(store, model="b")] == ["question 10"]
    [a, b] = summarise(rows)
    assert (a.model, a.replies, a.median_thinking, a.p90_thinking) == ("a", 6, 350, 1000)
    assert a.median_ratio == 6.0 and a.cut_off_share == pytest.approx(1 / 6)
    assert a.accuracy == pytest.approx(3 / 5) and a.judged == 5
    assert b.median_ratio == 1.0 and b.accuracy is None
    out_csv, out_json = tmp_path / "s.csv", tmp_path / "s.json"
    r = localthink("stats", "--csv", str(out_csv), "--json", str(out_json), home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert len(list(csv.DictReader(out_csv.open()))) == 7
    data = json.loads(out_json.read_text())
    assert {m["model"] for m in data["models"]} == {"a", "b"}
    table = localthink("stats", "--model", "a", home=isolated_home).stdout
    assert "Per model" in table and "mid-thought" in table


@pytest.mark.parametrize("n", [0, 1, 40])
def test_plot_draws_for_any_number_of_rows(tmp_path, n):
    store = Store(tmp_path / "c.db")
    for i in range(n):
        _insert(store, "m", 10 * i, 5 + i)
    text = plot(query_rows(store))
    assert "thinking vs answer tokens" in text and "per query" in text


def test_percentile_nearest_rank():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile([7], 90) == 7


def test_v1_database_is_migrated_keeping_its_rows(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO conversations (title, model, created_at, updated_at) VALUES ('old', 'm', 1, 1)"
    )
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.conversations()[0].title == "old" and store.conversations()[0].source == "chat"
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_batch_skips_a_question_too_long_for_the_context_and_goes_on(
    smollm2_path, isolated_home, tmp_path
):
    questions = tmp_path / "q.jsonl"
    long = json.dumps({"question": "word " * 300})
    questions.write_text(f'{long}\n{{"question": "What is 2+2?", "answer": "4"}}\n')
    r = localthink("ask", "--file", str(questions), "-m", str(smollm2_path), "--ctx", "128",
                   "--max-tokens", "4", home=isolated_home)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "[1/2] ! skipped:" in r.stdout and "raise --ctx" in r.stdout
    assert "[2/2]" in r.stdout  # before, the first question's error ended the whole run
    assert "1 replies" in r.stderr and "1 skipped (prompt too long" in r.stderr
