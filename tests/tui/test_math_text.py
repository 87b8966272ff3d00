"""LaTeX in an answer stays as typed, streamed or stored; the rest is still Markdown."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock

from localthink.engine.protocol import AnswerDelta, Done, ReplyStats
from localthink.store.db import StoredMessage
from localthink.tui.widgets.math_text import math_parser
from localthink.tui.widgets.reply import ReplyView

ANSWER = r"""So \( 17 \times 23 = 391 \) and $x_1 + y_1$ hold, 2*3*4 = 24, a*b*c too, **bold** *it*.
It costs $5 and $10.
The matrix is
\[
\begin{pmatrix} a & b \\ c & d \end{pmatrix} \{1\}
\]

- a list item with $$\frac{a}{b}$$ inside
- `\( code \)` and `$x_1$` stay code

```python
y = a*b*c  # \( not math \)
```

\[ \boxed{391} \]
"""


def inline_children(src: str) -> list[tuple[str, str]]:
    tokens = math_parser().parse(src)
    return [(c.type, c.content) for t in tokens if t.children for c in t.children]


def code_spans(src: str) -> list[str]:
    return [content for kind, content in inline_children(src) if kind == "code_inline"]


def test_bracket_and_dollar_math_is_kept_verbatim_as_code():
    assert code_spans(r"So \( 17 \times 23 = 391 \) and $x_1 + y_1$.") == [
        r"\( 17 \times 23 = 391 \)",
        "$x_1 + y_1$",
    ]
    assert code_spans(r"see $$\frac{a}{b}$$ and \[ \boxed{391} \] inline") == [
        r"$$\frac{a}{b}$$",
        r"\[ \boxed{391} \]",
    ]


def test_display_math_block_keeps_row_breaks_and_braces():
    src = "The matrix is\n\\[\n\\begin{pmatrix} a & b \\\\ c \\end{pmatrix} \\{1\\}\n\\]\nafter\n"
    types = [t.type for t in math_parser().parse(src)]
    assert types.count("paragraph_open") == 3  # the math interrupts the paragraph
    assert "\\[\n\\begin{pmatrix} a & b \\\\ c \\end{pmatrix} \\{1\\}\n\\]" in code_spans(src)


def test_stars_between_operands_stay_stars_and_emphasis_still_works():
    children = inline_children("2*3*4 and a*b*c and (a+b)*(c+d), **bold** *it*")
    kinds = [kind for kind, _ in children]
    assert "".join(c for k, c in children if k == "text").startswith(
        "2*3*4 and a*b*c and (a+b)*(c+d)"
    )
    assert kinds.count("strong_open") == 1 and kinds.count("em_open") == 1


def test_money_is_not_math():
    assert code_spans("It costs $5 and $10, or $5-$10.") == []


def test_code_fences_and_code_spans_are_left_alone():
    tokens = math_parser().parse("```\n\\( x \\) a*b*c $y$\n```\n\n`\\( z \\)`\n")
    assert tokens[0].type == "fence" and tokens[0].content == "\\( x \\) a*b*c $y$\n"
    assert code_spans("`\\( z \\)` and ``$a` b$``") == ["\\( z \\)", "$a` b$"]


def test_unclosed_span_keeps_its_backslash_until_it_closes():
    assert inline_children(r"Open \( 17 \times") == [("text", r"Open \( 17 \times")]
    assert code_spans(r"Open \( 17 \times 23 \)") == [r"\( 17 \times 23 \)"]
    tokens = math_parser().parse("\\[\n\\frac{a}{b}")  # an open display block runs to the end
    assert code_spans("\\[\n\\frac{a}{b}") == ["\\[\n\\frac{a}{b}"] and tokens[0].map == [0, 2]


class ReplyApp(App):
    def __init__(self, view: ReplyView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield self.view


def shown(view: ReplyView) -> list[Content]:
    blocks = view.answer.query(MarkdownBlock)
    return [b.content for b in blocks if isinstance(b.content, Content) and b.content.plain]


def shown_code(view: ReplyView) -> list[str]:
    return [
        c.plain[s.start : s.end]
        for c in shown(view)
        for s in c.spans
        if "code_inline" in str(s.style)
    ]


async def test_streamed_answer_shows_latex_as_typed_and_matches_the_stored_one():
    live = ReplyView()
    async with ReplyApp(live).run_test() as pilot:
        await pilot.pause()
        pieces = [ANSWER[i : i + 3] for i in range(0, len(ANSWER), 3)]  # spans split across deltas
        for k in range(0, len(pieces), 10):
            await live.apply([AnswerDelta(p) for p in pieces[k : k + 10]])
        await pilot.pause()
        # while it streams, the paragraph being written shows as typed, outside the Markdown
        assert live.tail.display and live.tail.text and ANSWER.endswith(live.tail.text)
        await live.apply([Done("", ANSWER, ReplyStats())])
        await pilot.pause()
        assert not live.tail.display and live.tail.text == ""
        text = "\n".join(c.plain for c in shown(live))
        streamed = [c.plain for c in shown(live)], shown_code(live)
    assert r"\boxed{391}" in text and r"\( 17 \times 23 = 391 \)" in text
    assert "2*3*4 = 24" in text and r"b \\ c" in text
    assert r"\[ \boxed{391} \]" in streamed[1] and "$x_1 + y_1$" in streamed[1]

    stored = ReplyView.from_stored(
        StoredMessage(1, 1, "assistant", ANSWER, "", "m", {}, "complete", {}, 0.0, 0.0)
    )
    async with ReplyApp(stored).run_test() as pilot:
        await pilot.pause()
        assert isinstance(stored.answer, Markdown)
        assert ([c.plain for c in shown(stored)], shown_code(stored)) == streamed
