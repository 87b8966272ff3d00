"""Widgets that a layout sizes without asking for a second layout.

After each layout Textual sets every resized widget's `virtual_size`, a reactive that asks
for a layout of its own: the whole screen was arranged twice each time a streaming reply
grew, and the second pass (8-23 ms on a 2-core machine, found with a layout tracer) changed
nothing, since a widget that cannot scroll is arranged by its size alone. On such a
machine that is CPU taken from llama.cpp's threads. The widgets of a reply that grow while
it streams take their `virtual_size` without the request (scrollbars, where a widget has
them, are updated by Textual apart from this reactive). Textual offers no switch for this,
hence the mixin; it must come before the Textual class among the bases. A new turn's
widgets use it too: each newly mounted widget's size changes in the layout that mounts it,
and in a chat of 30 turns that second layout took ~100 ms at every question.
"""

from __future__ import annotations

from typing import Self

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget, _RenderCache
from textual.widgets import Static


class LaidOutOnce:
    """Mixin: a layout that resizes the widget does not ask for another one."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)


class DrawnByLayout:
    """Mixin for a container whose own lines (its background) stay the same as children
    come, go or move in it: a layout it asks for draws those children (tui/screen.py), not
    all of its own area again. A turn mounted in the chat drew all of the log (~2/3 of the
    frame that shows a new chat's question), a chat put at the top of the list all of the
    list (35 rows of the 40-row benchmark window, ~1 ms of its layout), beside llama.cpp's
    threads. Must come before the Textual class among the bases."""

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, **kwargs):
        if layout and not regions:
            repaint = False
        return super().refresh(*regions, repaint=repaint, layout=layout, **kwargs)


def rows_at(widget: Widget, width: int, viewport: Size) -> int:
    """The rows `widget` takes at `width` (margins left out), laid out or not yet: a turn
    just mounted is measured before the layout that places it (Textual measures so too)."""
    margin, gutter = widget.styles.margin, widget.styles.gutter
    inner = max(1, width - margin.width - gutter.width)
    return widget.get_content_height(Size(width, 0), viewport, inner) + gutter.height


class SizedStatic(LaidOutOnce, Static):
    """A Static of a chat turn: mounted, it is laid out once, not twice."""


class TextPiece(SizedStatic):
    """A Static in a growing reply, which can repaint only the rows its text grew into."""

    _quiet = False
    # (width, finished lines, their rows) when last measured
    _measured: tuple[int, str, int] = (0, "", 0)
    # ((width, style), finished lines, their strips) when last rendered
    _rendered: tuple[tuple, str, list[Strip]] | None = None

    def show_grown(self, text: str, shown: str, shown_rows: int) -> int:
        """Show `text` without a layout; the rows it takes. Where it only adds to `shown`
        (which took `shown_rows`), only the rows from the last of those on are repainted:
        a Static's update repaints all of its rows, and the compositor draws again every
        widget behind each of them (the reply, the log, the screen), so a frame cost in
        proportion to the rows reserved, not to the text that came."""
        self._quiet = True
        try:
            self.update(text, layout=False)
        finally:
            self._quiet = False
        width = self.content_region.width
        rows = self._height(text, width) if text else 0
        first = max(0, shown_rows - 1) if text.startswith(shown) else 0
        height = max(rows, shown_rows) - first  # a shorter text clears the rows it left
        self.refresh(Region(0, first, width, max(1, height)))
        return rows

    def _height(self, text: str, width: int) -> int:
        """The rows `text` takes at `width`. Lines wrap one by one, and the lines before
        the last newline of a growing text are final: they are measured once, so each
        drain wraps the line being written and not all of the text again (for a
        900-character answer, 0.6 ms a drain on a 2-core machine; the frame that draws it
        still wraps the whole live piece, inside Textual)."""
        cut = text.rfind("\n") + 1  # the finished lines: text[: cut - 1]
        measured_width, head, rows = self._measured
        if measured_width != width or len(head) > cut or not text.startswith(head):
            head, rows = "", 0
        if cut > len(head):
            rows += Content(text[len(head) : cut - 1]).get_height(self.styles, width)
            head = text[:cut]
        self._measured = (width, head, rows)
        return rows + Content(text[cut:]).get_height(self.styles, width)

    def _render_content(self) -> None:
        """Render the text's lines, wrapping only those after the finished ones drawn last
        time. Textual wraps all of a widget's text whenever it is drawn again, and the live
        piece of a streaming reply is, at every frame: that was ~40 % of a frame's CPU
        (cProfile, a 200-token reply). Lines wrap one by one, so the strips of the lines
        before the last newline are kept while the text only grows, at the same width and
        style. A selection, or an alignment other than top left, renders the Textual way.
        Written by hand: Textual caches a widget's render whole or not at all."""
        visual = self._render()
        if (
            not isinstance(visual, Content)
            or self.text_selection is not None
            or self.styles.content_align != ("left", "top")
        ):
            self._rendered = None
            super()._render_content()
            return
        width, height = self.size
        style = self.visual_style
        key, text = (width, style), visual.plain
        kept = self._rendered
        if kept is None or kept[0] != key or not text.startswith(kept[1]):
            kept = self._rendered = (key, "", [])
        _, head, strips = kept
        rest = visual[len(head) :]
        cut = rest.plain.rfind("\n")
        if cut >= 0:  # lines finished since: wrapped once more, and kept
            strips = strips + self._strips(rest[:cut], head.count("\n"))
            head, rest = head + rest.plain[: cut + 1], rest[cut + 1 :]
            self._rendered = (key, head, strips)
        strips = strips + self._strips(rest, head.count("\n"))
        self._render_cache = _RenderCache(self.size, strips[:height])
        self._dirty_regions.clear()

    def _strips(self, part: Content, line: int) -> list[Strip]:
        """The strips of `part`, the text from its `line`-th line on: each segment says
        where in the text it is (for selecting with the mouse), counted from the part's
        start by Textual, and moved down here to count from the text's."""
        strips = Visual.to_strips(self, part, self.size.width, None, self.visual_style)
        if not line:
            return strips
        moved = []
        for strip in strips:
            segments = []
            for segment in strip:
                text, seg_style, control = segment
                offset = seg_style.meta.get("offset") if seg_style and seg_style._meta else None
                if offset is not None:
                    x, y = offset
                    seg_style = seg_style + RichStyle.from_meta({"offset": (x, y + line)})
                    segment = Segment(text, seg_style, control)
                segments.append(segment)
            moved.append(Strip(segments, strip.cell_length))
        return moved

    def refresh(self, *regions: Region, **kwargs) -> Self:
        return self if self._quiet else super().refresh(*regions, **kwargs)
