import pytest

from localthink.chat import (
    OpenedModel,
    Session,
    Turn,
    answer_only,
    open_model,
    session_from_messages,
)
from localthink.engine.protocol import Done, Message, ReplyStats, SamplingParams, ThinkTags
from localthink.errors import LocalthinkError
from localthink.models.registry import load_registry
from localthink.models.resolve import LocalModel, ResolvedModel


def test_history_sends_earlier_answers_without_their_thinking(think_engine):
    session = Session(think_engine, SamplingParams(max_tokens=40, temperature=0.0))
    done = [e for e in session.send("What is 2+2?") if isinstance(e, Done)][0]
    assert done.thinking  # the model did think...
    messages = session.messages_for("And 3+3?")
    assert messages == [
        Message("user", "What is 2+2?"),
        Message("assistant", done.answer),  # ...but only the answer goes back
        Message("user", "And 3+3?"),
    ]
    assert all(done.thinking not in m.content for m in messages)


def test_registry_sampling_defaults_apply_under_user_flags(engine):
    entry = load_registry()["r1-distill-qwen-1.5b"]
    opened = OpenedModel(engine, ResolvedModel(LocalModel("r1", engine.gguf.path, entry), "name"))
    assert opened.params(SamplingParams()).temperature == 0.6
    assert opened.params(SamplingParams()).top_p == 0.95
    assert opened.params(SamplingParams(temperature=0.1)).temperature == 0.1


def test_r1_distills_get_no_system_prompt(engine):
    r1 = load_registry()["r1-distill-qwen-1.5b"]
    qwen = load_registry()["qwen3-0.6b"]
    path = engine.gguf.path
    assert (
        OpenedModel(engine, ResolvedModel(LocalModel("a", path, r1), "name")).system_prompt(
            "Be brief"
        )
        is None
    )
    assert (
        OpenedModel(engine, ResolvedModel(LocalModel("b", path, qwen), "name")).system_prompt(
            "Be brief"
        )
        == "Be brief"
    )


def test_open_model_without_spec_uses_bundled_smollm2():
    opened = open_model(None)
    try:
        assert opened.resolved.how == "default"
        assert opened.resolved.model.name == "smollm2-135m"
        assert opened.params(SamplingParams()).temperature == 0.2
    finally:
        opened.engine.close()


# --- long conversations: the oldest turns are left out so the prompt fits ---


@pytest.fixture(scope="module")
def small_ctx_engine(smollm2_path):
    from localthink.engine.llama import LlamaEngine, LoadOptions

    e = LlamaEngine(smollm2_path, LoadOptions(n_ctx=512), name="smollm2-512")
    yield e
    e.close()


def _history(n: int) -> list[Turn]:
    return [
        Turn(
            f"Question {i}: tell me about the number {i}.",
            "",
            f"The number {i} is fine. " * 3,
            ReplyStats(),
        )
        for i in range(n)
    ]


def test_long_conversation_leaves_out_the_oldest_turns_in_steps(small_ctx_engine):
    params = SamplingParams(max_tokens=64, temperature=0.0)
    session = Session(small_ctx_engine, params, "You are terse.", _history(30))
    messages = session.fitted_messages("And the number 99?")
    left_out = session.turns_left_out
    assert 0 < left_out < 30
    assert messages[0] == Message("system", "You are terse.")
    assert messages[-1] == Message("user", "And the number 99?")
    assert messages[1].content.startswith(f"Question {left_out}:")  # the oldest ones went
    fitted = small_ctx_engine.prompt_tokens(messages, params)
    assert fitted + 64 <= 512 - 512 // 4  # a quarter of the context freed for what follows
    one_more = session.messages_for("And the number 99?", left_out - 1)
    assert small_ctx_engine.prompt_tokens(one_more, params) + 64 > 512 - 512 // 4
    done = [e for e in session.send("And the number 99?") if isinstance(e, Done)][0]
    assert done.stats.prompt_tokens == fitted
    assert len(session.turns) == 31  # nothing kept is dropped from the session itself
    # the next question keeps the same start while it fits: llama.cpp's cache is reused
    done = [e for e in session.send("And 100?") if isinstance(e, Done)][0]
    assert session.turns_left_out == left_out
    assert done.stats.prompt_tokens_evaluated < done.stats.prompt_tokens / 2


def test_room_for_the_reply_is_at_most_half_the_context(small_ctx_engine):
    session = Session(small_ctx_engine, SamplingParams(max_tokens=100000), None, _history(30))
    messages = session.fitted_messages("Next?")
    assert small_ctx_engine.prompt_tokens(messages, session.params) <= 256


def test_short_conversation_leaves_nothing_out(small_ctx_engine):
    session = Session(small_ctx_engine, SamplingParams(max_tokens=64), None, _history(2))
    assert len(session.fitted_messages("Next?")) == 5
    assert session.turns_left_out == 0


def test_reply_cut_by_a_full_context_says_context(think_gguf):
    from localthink.engine.llama import LlamaEngine, LoadOptions

    e = LlamaEngine(think_gguf, LoadOptions(n_ctx=512))  # the few-shot template is ~150 tokens
    try:
        # min_think keeps it thinking past any end: only the context can stop it
        params = SamplingParams(temperature=0.0, min_think=100000)
        done = [x for x in e.stream([Message("user", "Why?")], params) if isinstance(x, Done)][0]
        assert done.stats.stop_reason == "context"
        assert done.stats.prompt_tokens + done.stats.gen_tokens == e.n_ctx
        short = SamplingParams(temperature=0.0, min_think=100000, max_tokens=5)
        done = [x for x in e.stream([Message("user", "Why?")], short) if isinstance(x, Done)][0]
        assert done.stats.stop_reason == "length"
    finally:
        e.close()


def test_plain_completion_is_all_answer_with_its_spacing(engine):
    params = SamplingParams(max_tokens=8, temperature=0.0)
    events = list(engine.complete("Counting: 1, 2, 3, 4, 5,", params))
    done = events[-1]
    assert isinstance(done, Done) and done.thinking == ""
    assert done.stats.stop_reason == "length"
    assert done.stats.answer_tokens == 8 and done.stats.thinking_tokens == 0
    assert done.answer.startswith(" ")  # a continuation keeps its leading space


def test_earlier_replies_lose_their_thinking_in_any_form():
    tags = ThinkTags()
    assert answer_only("<think>\nhmm\n</think>\n\nIt is 4.", tags) == "It is 4."
    assert answer_only("hmm, 2+2\n</think>\n\nIt is 4.", tags) == "It is 4."  # opened by template
    assert answer_only("It is 4.", tags) == "It is 4."
    assert answer_only("<think>never closed", tags) == ""


def test_client_messages_become_a_session(engine):
    msgs = [
        Message("system", "Be brief."),
        Message("user", "2+2?"),
        Message("assistant", "<think>2 and 2</think>4"),
        Message("user", "3+3?"),
    ]
    session, question = session_from_messages(engine, SamplingParams(), msgs)
    assert question == "3+3?"
    assert session.messages_for(question) == [
        Message("system", "Be brief."),
        Message("user", "2+2?"),
        Message("assistant", "4"),
        Message("user", "3+3?"),
    ]
    with pytest.raises(LocalthinkError, match="empty"):
        session_from_messages(engine, SamplingParams(), [])
    with pytest.raises(LocalthinkError, match="last message must be from the user"):
        session_from_messages(engine, SamplingParams(), msgs[:3])
