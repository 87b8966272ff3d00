from localthink.chat import OpenedModel, Session, open_model
from localthink.engine.protocol import Done, Message, SamplingParams
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
