import json

from localthink.cli import main
from localthink.store.db import open_store


def test_export_prints_stored_conversation(capsys):
    with open_store() as store:
        conv = store.new_conversation("Hello", "m")
        store.add_message(conv.id, "user", "hi there")
    assert main(["export", str(conv.id), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["title"] == "Hello" and data["messages"][0]["content"] == "hi there"
    assert main(["export", str(conv.id)]) == 0
    assert capsys.readouterr().out.startswith("# Hello")


def test_export_unknown_id_is_exit_2(capsys):
    assert main(["export", "999"]) == 2
    assert capsys.readouterr().err.strip() == "localthink: error: no conversation 999"


def test_export_without_an_id_lists_conversations_with_their_ids(capsys):
    assert main(["export"]) == 0
    assert "no conversations stored yet" in capsys.readouterr().out
    with open_store() as store:
        old = store.new_conversation("Rivers", "smollm2-135m")
        store.add_message(old.id, "user", "tell me about the Nile")
        new = store.new_conversation("Primes", "r1-distill-qwen-1.5b", source="ask")
        store.add_message(new.id, "user", "is 91 prime?")
    assert main(["export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[0]) for line in lines] == [new.id, old.id]  # newest first
    assert lines[0].endswith("Primes") and "ask" in lines[0]
    assert main(["export", "--search", "Nile"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert int(line.split()[0]) == old.id
