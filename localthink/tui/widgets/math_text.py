"""LaTeX left readable in a Markdown answer: math spans come out verbatim, styled as inline code.

CommonMark treats LaTeX as Markdown: `\\(` and `\\[` lose their backslash, `\\\\` becomes
`\\`, `x_1 ... y_1` or `2*3*4` turn into italics. Reasoning models write math all the
time, so the answer's parser gets three extra rules instead of a text rewrite: the
parser already knows where code spans and fences are (nothing inside them is touched),
and textual's `Markdown.append` re-parses only the last block, so streaming stays as
cheap as before and a span that closes in a later delta is simply parsed again.
Math is emitted as `code_inline` tokens because textual's Markdown drops token types
it does not know.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

BLOCK_OPENERS = {"$$": "$$", "\\[": "\\]"}
INLINE_OPENERS = {"$$": "$$", "\\[": "\\]", "\\(": "\\)"}
# a lone `*` squeezed between these reads as multiplication (`2*3*4`, `(a+b)*c`), not emphasis
STAR_LEFT, STAR_RIGHT = ")]}", "([{"


def math_parser() -> MarkdownIt:
    """textual's default "gfm-like" parser plus math spans and literal in-word stars."""
    md = MarkdownIt("gfm-like")
    # a display-math line may end a paragraph or list item without a blank line, as models write it
    md.block.ruler.after(
        "fence", "math_block", math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
    )
    md.inline.ruler.before("escape", "math_inline", math_inline)  # before `\(` is unescaped
    md.inline.ruler.before("emphasis", "tight_star", tight_star)
    md.core.ruler.after("inline", "math_block_as_code", math_block_as_code)
    return md


def math_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """`$$` or `\\[` at the start of a line, up to the line that closes it."""
    if state.is_code_block(start):
        return False
    first = state.bMarks[start] + state.tShift[start]
    line = state.src[first : state.eMarks[start]]
    opener = next((o for o in BLOCK_OPENERS if line.startswith(o)), None)
    if opener is None:
        return False
    closer = BLOCK_OPENERS[opener]
    last, at = start, line.find(closer, len(opener))
    while at < 0:
        last += 1
        if last >= end:
            break  # still streaming: the block runs to the end, as an open code fence does
        if state.isEmpty(last):
            return False  # TeX allows no blank line in display math: this was not math
        line = state.src[state.bMarks[last] + state.tShift[last] : state.eMarks[last]]
        at = line.find(closer)
    if at >= 0 and line[at + len(closer) :].strip():
        return False  # text after the closer: an inline span, left to the paragraph
    if silent:
        return True
    state.line = min(last + 1, end)
    token = state.push("math_block", "math", 0)
    token.content = state.getLines(start, state.line, state.sCount[start], False).strip()
    token.markup = opener
    token.map = [start, state.line]
    return True


def math_block_as_code(state: StateCore) -> None:
    """Swap each math_block for a paragraph holding one code span that keeps its line breaks."""
    if not any(t.type == "math_block" for t in state.tokens):
        return
    tokens: list[Token] = []
    for t in state.tokens:
        if t.type != "math_block":
            tokens.append(t)
            continue
        code = Token("code_inline", "code", 0, content=t.content, markup=t.markup)
        inline = Token("inline", "", 0, content=t.content, map=t.map, children=[code], block=True)
        inline.level = t.level + 1
        tokens += [
            Token("paragraph_open", "p", 1, map=t.map, level=t.level, block=True),
            inline,
            Token("paragraph_close", "p", -1, level=t.level, block=True),
        ]
    state.tokens = tokens


def math_inline(state: StateInline, silent: bool) -> bool:
    """`\\(…\\)`, `\\[…\\]`, `$$…$$`, `$…$` inside a paragraph, delimiters included."""
    src, pos = state.src, state.pos
    opener = src[pos : pos + 2]
    if opener in INLINE_OPENERS:
        end = src.find(INLINE_OPENERS[opener], pos + 2, state.posMax)
        end = end + 2 if end >= 0 else -1
        if end < 0 and opener[0] == "\\":
            # not closed (yet): keep the backslash rather than let the escape rule eat it
            if not silent:
                state.pending += opener
            state.pos += 2
            return True
    elif src[pos] == "$":
        end = dollar_end(src, pos, state.posMax)
    else:
        return False
    if end < 0:
        return False
    if not silent:
        token = state.push("code_inline", "code", 0)
        token.content = src[pos:end].replace("\n", " ")
        token.markup = "math"
    state.pos = end
    return True


def dollar_end(src: str, pos: int, limit: int) -> int:
    """End of a `$x$` span starting at pos, or -1; "$5 and $10" is money, not math."""
    if pos + 1 >= limit or src[pos + 1].isspace() or src[pos + 1] == "$":
        return -1
    at = pos + 1
    while (at := src.find("$", at + 1, limit)) >= 0:
        after = src[at + 1] if at + 1 < limit else ""
        if not src[at - 1].isspace() and src[at - 1] != "\\" and not after.isdigit():
            return at + 1
    return -1


def tight_star(state: StateInline, silent: bool) -> bool:
    """A single `*` with no space on either side of it stays a `*`."""
    src, pos = state.src, state.pos
    if src[pos] != "*" or pos == 0 or pos + 1 >= state.posMax:
        return False
    before, after = src[pos - 1], src[pos + 1]
    if not (before.isalnum() or before in STAR_LEFT) or not (
        after.isalnum() or after in STAR_RIGHT
    ):
        return False
    if not silent:
        state.pending += "*"
    state.pos += 1
    return True
