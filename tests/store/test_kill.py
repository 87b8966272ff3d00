"""A process killed mid-reply loses at most the last second; the reply comes back incomplete."""

import os
import signal
import subprocess
import sys
import time

from localthink.store.db import Store

WRITER = r"""
import sys
from localthink.chat import Session, open_model
from localthink.engine.protocol import Done, SamplingParams
from localthink.store.db import Store
from localthink.store.reply_writer import ReplyWriter

store = Store(sys.argv[1])
conv = store.new_conversation("kill test")
store.add_message(conv.id, "user", "Earlier question")
store.update_reply(store.add_message(conv.id, "assistant"), "", "Earlier answer", "complete")
store.add_message(conv.id, "user", "Write a very long essay about the sea.")
mid = store.add_message(conv.id, "assistant", status="streaming")
opened = open_model(None)
writer = ReplyWriter(store, mid, interval=0.2)
print("streaming", flush=True)
while True:  # the reply never ends by itself (a short answer raced the kill): only SIGKILL
    for event in Session(opened.engine, SamplingParams(max_tokens=100000)).send("essay"):
        if not isinstance(event, Done):
            writer.on_event(event)
"""


def test_sigkill_mid_reply_keeps_earlier_messages_and_marks_partial(tmp_path, isolated_home):
    db = tmp_path / "chats.db"
    env = {**os.environ, "LOCALTHINK_HOME": str(isolated_home)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout.readline().strip() == "streaming"
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until some of the reply is on disk
        time.sleep(0.3)
        peek = Store(db)
        partial = peek.messages(1)[-1].content
        peek.close()
        if len(partial) > 50:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    store = Store(db)
    messages = store.messages(1)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].content == "Earlier answer" and messages[1].status == "complete"
    assert messages[3].status == "incomplete"
    assert len(messages[3].content) > 50
