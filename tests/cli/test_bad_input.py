"""Bad input, as users really give it: one line on stderr and a non-zero exit, never a
traceback, and nothing already kept is lost."""

import json
import os
import sqlite3
import sys

import pytest

from localthink.config import paths
from localthink.store.db import Store
from tests.run_cli import can_mount_tmpfs, localthink, on_small_disk


def one_line_error(r, text: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and text in r.stderr, r.stderr


def _user_registry(text: str):
    path = paths().user_registry_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--temperature", "nan", "must be a number of at least 0"),
        ("--temperature", "-1", "must be a number of at least 0"),
        ("--top-p", "5", "above 0 and at most 1"),
        ("--top-k", "-5", "at least 0"),
        ("--threads", "100000", "at most 512 threads"),  # llama.cpp crashed (SIGSEGV)
        ("--gpu-layers", "-5", "at least -1"),
    ],
)
def test_sampling_and_load_flags_out_of_range_are_refused(isolated_home, flag, value, said):
    r = localthink("ask", flag, value, "hi", home=isolated_home)
    one_line_error(r, f"localthink ask: error: argument {flag}: '{value}'")
    assert said in r.stderr


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("context_length=abc", "unknown key 'context_length'"),  # it broke every command
        ("bundled=nope", "unknown key 'bundled'"),
        ("top_p=5", "top_p must be a number above 0 and at most 1"),
        ("temperature=inf", "temperature must be a number of at least 0"),
        ('think_open=""', "think_open must be a non-empty string"),
    ],
)
def test_set_refuses_what_is_not_a_setting_and_writes_nothing(isolated_home, setting, said):
    r = localthink("set", "smollm2-135m", setting, home=isolated_home)
    one_line_error(r, said)
    assert not paths().user_registry_path.exists()
    assert localthink("models", home=isolated_home).returncode == 0


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ('[mine]\npath = 5\nquant = "Q4_1"\n', "[mine]: path must be a non-empty string, not 5"),
        ('[mine]\npath = "/x.gguf"\ncontext_length = "abc"\n', "context_length must be a whole"),
        ('[mine]\nquants = "x"\n', "quants must be a table of quants"),
        ('[mine.quants.Q4]\nfile = "x.gguf"\nsize_gb = "big"\n', "size_gb must be a number"),
        ("[mine.quants.Q4]\nfile = 5\n", 'needs file = "NAME.gguf"'),
        ('["smollm2-135m"]\nbundled = "nope"\n', "[smollm2-135m]: unknown key 'bundled'"),
        ('["smollm2-135m"]\ncontext_length = 5\n', "unknown key 'context_length'"),
    ],
)
def test_a_hand_written_registry_row_of_the_wrong_kind_is_one_line(isolated_home, row, said):
    path = _user_registry(row)
    r = localthink("models", home=isolated_home)
    one_line_error(r, f"localthink: error: {path}: ")
    assert said in r.stderr


def test_reset_undoes_a_broken_table_for_a_curated_model(isolated_home):
    _user_registry('["smollm2-135m"]\nrepo = "evil/repo"\n')
    assert localthink("models", home=isolated_home).returncode == 2
    r = localthink("set", "smollm2-135m", "--reset", home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert localthink("models", home=isolated_home).returncode == 0


def test_importing_again_keeps_the_settings_and_rm_of_a_wrong_quant_forgets_nothing(
    isolated_home, think_gguf, smollm2_path
):
    assert (
        localthink("import", str(think_gguf), "--name", "mine", home=isolated_home).returncode == 0
    )
    r = localthink("set", "mine", "temperature=0.3", "system_prompt=false", home=isolated_home)
    assert r.returncode == 0, r.stderr
    r = localthink("import", str(smollm2_path), "--name", "mine", home=isolated_home)
    assert (
        r.returncode == 0 and "kept your settings for mine: system_prompt, temperature" in r.stdout
    )
    shown = localthink("set", "mine", home=isolated_home).stdout
    assert "temperature           0.3" in shown and "system_prompt         False" in shown
    one_line_error(localthink("rm", "mine:Q8_0", home=isolated_home), "mine has no Q8_0 quant")
    assert "mine " in localthink("models", home=isolated_home).stdout


@pytest.mark.parametrize("name", ["my.gguf", "a b", "", "a\\b", "x\ny"])
def test_import_refuses_names_that_could_not_be_found_again(isolated_home, think_gguf, name):
    r = localthink("import", str(think_gguf), "--name", name, home=isolated_home)
    one_line_error(r, "cannot be a model name")
    assert not paths().user_registry_path.exists()


def test_config_toml_typos_and_wrong_kinds_are_named(isolated_home):
    config = paths().settings_path
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('defualt_model = "smollm2-135m"\n')
    one_line_error(localthink("ask", "hi", home=isolated_home), "unknown key 'defualt_model'")
    config.write_text("default_model = 5\n")
    one_line_error(localthink("ask", "hi", home=isolated_home), "default_model must be a model")
    config.write_text('default_model = "nope"\n')
    r = localthink("ask", "hi", home=isolated_home)
    one_line_error(
        r, f"unknown model 'nope' (see `localthink models`) (from default_model in {config})"
    )


def test_a_broken_file_in_the_models_folder_is_not_picked_as_the_default(isolated_home):
    models = paths().models_dir
    models.mkdir(parents=True)
    (models / "broken.gguf").write_bytes(b"")  # an interrupted copy
    (models / "dangling.gguf").symlink_to(models / "gone.gguf")
    assert localthink("models", home=isolated_home).returncode == 0
    r = localthink("ask", "--max-tokens", "2", "hi", home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert "using smollm2-135m" in r.stderr


def test_compare_finds_every_model_before_running_any(isolated_home):
    r = localthink(
        "compare", "hi", "--models", "smollm2-135m,nope", "--max-tokens", "2", home=isolated_home
    )
    one_line_error(r, "unknown model 'nope'")
    assert "smollm2-135m" not in r.stdout
    assert "hi" not in localthink("export", home=isolated_home).stdout  # nothing was asked
    one_line_error(localthink("compare", "", home=isolated_home), "the question is empty")


def _store_with_chats(n: int) -> Store:
    store = Store(paths().db_path)
    for i in range(n):
        conv = store.new_conversation(f"chat {i} " + "x" * 200, "m", source="ask")
        store.add_message(conv.id, "user", "question " * 50)
        mid = store.add_message(conv.id, "assistant", params={"temperature": 0.1})
        figures = {"thinking_tokens": 3, "answer_tokens": 50, "stop_reason": "done"}
        store.update_reply(mid, "think", "answer " * 50, "complete", figures)
    return store


def test_a_damaged_chat_store_is_one_line_for_every_reading_command(isolated_home):
    _store_with_chats(40).close()
    db = paths().db_path
    with sqlite3.connect(db) as conn:
        [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='conversations'")
    conn.close()
    with db.open("r+b") as f:  # stray bytes over the head of the conversations table
        f.seek((root - 1) * 4096)
        f.write(b"\xa5" * 16)
    for command in (["export"], ["export", "1"], ["stats"]):
        r = localthink(*command, home=isolated_home)
        assert r.returncode != 0 and "Traceback" not in r.stderr, (command, r.stderr)
        assert r.stderr.count("\n") == 1 and "localthink.db" in r.stderr, (command, r.stderr)


def test_a_reply_with_damaged_settings_still_exports(isolated_home):
    _store_with_chats(1).close()
    with sqlite3.connect(paths().db_path) as conn:
        conn.execute("UPDATE messages SET params = '{bad' WHERE role = 'assistant'")
    r = localthink("export", "1", "--format", "json", home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["messages"][1]["content"].startswith("answer")


def test_search_takes_percent_and_underscore_as_themselves(isolated_home):
    store = _store_with_chats(2)
    store.new_conversation("50% off", "m", source="ask")
    assert [c.title for c in store.conversations("%", sources=None)] == ["50% off"]
    assert store.conversations("_", sources=None) == []
    store.close()


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare and tmpfs mounts")
def test_ask_answers_when_the_store_opens_but_cannot_take_the_question(tmp_path, smollm2_path):
    home = tmp_path / "home"
    home.mkdir()
    ask = f"{sys.executable} -m localthink ask --json --max-tokens 4 --seed 1 -m {smollm2_path}"
    # 36 KB left: enough for SQLite to open the store, not to add a conversation to it
    script = f"""
        set -e
        mount -t tmpfs -o size=4m tmpfs {home}
        {ask} 'Hi' > /dev/null 2>&1
        dd if=/dev/zero of={home}/pad bs=4k count=9 2>/dev/null
        dd if=/dev/zero of={home}/fill bs=4k 2>/dev/null || true
        rm {home}/pad
        {ask} 'Name a colour.'
        {sys.executable} -m localthink export
    """
    r = on_small_disk(script, env={**os.environ, "LOCALTHINK_HOME": str(home)})
    assert r.returncode == 0, r.stderr  # before: exit 2, no answer, an empty chat left
    reply, *listing = r.stdout.splitlines()
    assert json.loads(reply)["stats"]["answer_tokens"] > 0
    assert "this reply is not being saved" in r.stderr and "Traceback" not in r.stderr
    assert len(listing) == 1 and "Hi" in listing[0]  # no chat without its question


def test_stats_says_when_filters_match_nothing(isolated_home):
    _store_with_chats(1).close()
    r = localthink("stats", "--model", "nope", home=isolated_home)
    assert r.returncode == 0 and r.stdout.startswith("no replies match --model nope")
    r = localthink("stats", "--since", "0001-01-01", home=isolated_home)  # a real date
    assert r.returncode == 0, r.stderr  # it said 'expected a date like …'
    assert "no replies" not in r.stdout and "question " in r.stdout  # the stored reply


def test_batch_reads_stdin_and_refuses_a_question_it_would_ignore(isolated_home, tmp_path):
    line = json.dumps({"question": "Say hi.", "answer": "hi"}) + "\n"
    r = localthink("ask", "--file", "-", "--max-tokens", "2", stdin=line, home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert "Say hi." in localthink("export", home=isolated_home).stdout
    one_line_error(
        localthink("ask", "--file", "-", "extra question", stdin=line, home=isolated_home),
        "leave out the question and --answer",
    )


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare and tmpfs mounts")
def test_export_and_stats_read_an_intact_store_on_a_full_or_read_only_disk(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    py = sys.executable
    make = (
        "from localthink.store.db import open_store; s = open_store();"
        " s.new_conversation('kept chat', 'm', source='ask'); s.close()"
    )
    script = f"""
        set -e
        mount -t tmpfs -o size=4m tmpfs {home}
        {py} -c "{make}"
        dd if=/dev/zero of={home}/fill bs=4k 2>/dev/null || true
        echo full; {py} -m localthink export; {py} -m localthink stats
        rm {home}/fill
        mount -o remount,ro {home}
        echo read-only; {py} -m localthink export
    """
    r = on_small_disk(script, env={**os.environ, "LOCALTHINK_HOME": str(home)})
    assert r.returncode == 0, r.stderr  # before: 'cannot open the chat store (disk I/O error)'
    out = r.stdout.splitlines()
    assert out[0] == "full" and "kept chat" in out[1] and out[2].startswith("no replies stored")
    assert out[3] == "read-only" and "kept chat" in out[4]


def test_pull_of_a_bundled_model_or_into_a_cache_that_is_a_file(isolated_home, smollm2_path):
    r = localthink("pull", "smollm2-135m", home=isolated_home)
    assert r.returncode == 0 and f"ready: {smollm2_path}" in r.stderr  # 'is not on the Hub'
    not_a_folder = isolated_home / "hf-file"
    not_a_folder.write_text("")
    env = {**os.environ, "HF_HOME": str(not_a_folder), "HF_ENDPOINT": "http://127.0.0.1:9"}
    r = localthink("pull", "qwen3-0.6b", "--quiet", home=isolated_home, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cannot reach" not in r.stderr
    assert r.stderr.splitlines()[-1].endswith(
        "Not a directory (the Hugging Face cache, HF_HOME, must be a folder you can write)"
    )
