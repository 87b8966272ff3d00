from localthink.engine.protocol import AnswerDelta, Done, ThinkDelta
from localthink.engine.reply import ReplyBuilder


class StepClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(builder, clock, pieces, step=0.1):
    events = []
    for piece in pieces:
        clock.now += step
        events += list(builder.token(piece))
    events += list(builder.finish("done"))
    return events


def test_figures_split_tokens_and_times_between_thinking_and_answer():
    clock = StepClock()
    b = ReplyBuilder(prompt_tokens=20, prompt_tokens_evaluated=10, clock=clock)
    clock.now += 0.4  # prompt evaluation before the first token
    events = run(b, clock, ["<think>", "a", "b", "</think>", "x", "y"])
    done = events[-1]
    assert isinstance(done, Done)
    s = done.stats
    assert (s.thinking_tokens, s.answer_tokens) == (4, 2)
    assert done.thinking == "ab" and done.answer == "xy"
    assert abs(s.ttft_s - 0.5) < 1e-9
    assert abs(s.thinking_s - 0.3) < 1e-9  # first token → closing tag
    assert abs(s.answer_s - 0.2) < 1e-9
    assert abs(s.gen_tokens_per_s - 5 / 0.5) < 1e-9  # tokens after the first, over their time
    assert abs(s.prompt_tokens_per_s - 10 / 0.5) < 1e-9
    assert [type(e) for e in events[:-1]] == [ThinkDelta, ThinkDelta, AnswerDelta, AnswerDelta]


def test_reply_without_thinking_has_no_thinking_time():
    clock = StepClock()
    b = ReplyBuilder(5, 5, clock=clock)
    s = run(b, clock, ["Hi", " there"])[-1].stats
    assert s.thinking_tokens == 0 and s.thinking_s == 0.0
    assert s.answer_tokens == 2 and abs(s.answer_s - 0.1) < 1e-9


def test_unclosed_thinking_is_reported():
    clock = StepClock()
    b = ReplyBuilder(5, 5, starts_inside=True, clock=clock)
    for piece in ["still", " going"]:
        list(b.token(piece))
    done = list(b.finish("length"))[-1]
    assert done.stats.stop_reason == "length"
    assert done.stats.thinking_closed is False
    assert done.thinking == "still going" and done.answer == ""


def test_a_reply_with_no_token_has_no_negative_figure():
    clock = StepClock()
    b = ReplyBuilder(prompt_tokens=20, prompt_tokens_evaluated=20, clock=clock)
    clock.now += 0.31  # the prompt was read, then the model ended at once
    done = list(b.finish("done"))[-1]
    figures = done.stats.to_dict()
    assert all(v >= 0 for v in figures.values() if isinstance(v, float)), figures
    assert done.stats.answer_s == 0.0 and abs(done.stats.ttft_s - 0.31) < 1e-9
