from hypothesis import given, settings
from hypothesis import strategies as st

from localthink.engine.protocol import ThinkTags
from localthink.engine.splitter import Split, ThinkSplitter, split_reply


def stream(chunks, tags=ThinkTags(), starts_inside=False) -> Split:
    s = ThinkSplitter(tags, starts_inside)
    thinking, answer = [], []
    for chunk in chunks:
        t, a = s.feed(chunk)
        thinking.append(t)
        answer.append(a)
    t, a = s.finish()
    return Split("".join(thinking) + t, "".join(answer) + a, s.thinking_closed)


def test_model_that_opens_and_closes_its_own_think_block():
    assert stream(["<think>", "plan", "</think>", "42"]) == Split("plan", "42", True)


def test_template_opened_think_only_closing_tag_appears():
    got = stream(["First ", "I add.\n", "</think>\n\n", "The answer is 4."], starts_inside=True)
    assert got == Split("First I add.", "The answer is 4.", True)


def test_tags_split_across_tokens():
    chunks = ["<th", "ink>", "a b", "</", "thi", "nk", ">", "ans"]
    assert stream(chunks) == Split("a b", "ans", True)


def test_whitespace_around_tags_is_dropped():
    got = stream(["  \n<think>\n\n", "reason  ", " more\n", "\n</think>\n\n", "  answer  "])
    assert got == Split("reason   more", "answer  ", True)


def test_empty_think_block():
    assert stream(["<think>\n\n</think>\n\nHello"]) == Split("", "Hello", True)


def test_model_that_never_thinks_is_all_answer():
    assert stream(["Hello", " there"]) == Split("", "Hello there", True)


def test_think_tag_after_answer_text_is_plain_answer():
    assert stream(["See <think>", " tags"]) == Split("", "See <think> tags", True)


def test_thinking_cut_off_is_unclosed():
    got = stream(["<think>step one", " step two </th"])
    assert got == Split("step one step two </th", "", False)


def test_partial_open_tag_at_end_is_answer():
    assert stream(["<thi"]) == Split("", "<thi", True)


def test_custom_tag_pair_from_registry():
    tags = ThinkTags("<reasoning>", "</reasoning>")
    got = stream(["<reas", "oning>why</reason", "ing>so"], tags)
    assert got == Split("why", "so", True)


def test_thinking_is_streamed_before_the_close_tag_arrives():
    s = ThinkSplitter(starts_inside=True)
    assert s.feed("long thought ")[0] == "long thought"
    assert s.feed("continues")[0] == " continues"


texts = st.text(alphabet=st.sampled_from(list("ab <>/thinkTH\n ")), max_size=60)
pieces = st.lists(
    st.sampled_from(["<think>", "</think>", "\n", " ", "x", "</", "<th"]), max_size=12
)


@st.composite
def text_and_chunking(draw):
    text = draw(texts) if draw(st.booleans()) else "".join(draw(pieces))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=len(text) + 1)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=400)
@given(text_and_chunking(), st.booleans())
def test_any_chunking_gives_the_same_split(case, starts_inside):
    text, chunks = case
    assert stream(chunks, starts_inside=starts_inside) == split_reply(
        text, starts_inside=starts_inside
    )
    assert stream([text], starts_inside=starts_inside) == stream(
        chunks, starts_inside=starts_inside
    )


def test_an_opening_tag_written_again_after_the_template_opened_it_is_dropped():
    chunks = ["\n<th", "ink>", "\nI add.", "</think>", "4"]
    assert stream(chunks, starts_inside=True) == Split("I add.", "4", True)
    assert split_reply("<think>\nI add.</think>4", starts_inside=True) == Split("I add.", "4", True)


def test_thinking_that_merely_starts_like_the_tag_is_kept():
    assert stream(["<th", "eorem> holds", "</think>ok"], starts_inside=True) == Split(
        "<theorem> holds", "ok", True
    )
