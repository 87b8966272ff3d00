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
