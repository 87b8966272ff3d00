"""Text that grows while a reply streams, at a cost per frame that does not grow with it.

A Static's update asks for a layout, and Textual answers a layout request by arranging every
widget on the screen again. At 10 frames a second that was most of the chat window's CPU
(about a quarter of a core on a 2-core machine, profiled with py-spy), and llama.cpp's
threads, which meet at a barrier many times per token, waited for it: with the engine at 2
threads the app made 0.75 of `ask`'s tokens/s, and 0.99 when it drew nothing until the end.

So the live part reserves its height in steps of STEP rows (in a chat shorter than the
screen, the empty rows under it too) and lays out only when its text outgrows them; every
other frame repaints the rows its text grew into (TextPiece.show_grown). And since a
repaint wraps all of its text again (1 ms for 500 characters, 10 ms for 8,000: a long
thinking trace), finished lines are moved into frozen pieces above it, which are never
drawn again while the text grows; that happens when the live part outgrows its rows, in
the layout that takes anyway (a layout costs more the longer the chat: 25-60 ms in a new
one, 100-190 ms after 30 turns). `settle()` joins the pieces and gives back the exact
height. Written by hand: Textual has no widget that grows without a layout (its Log
scrolls inside a fixed height instead, which would nest a scroll area in the chat's own).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.widget import Widget
from textual.widgets import Static

from localthink.tui.widgets.sizing import LaidOutOnce, TextPiece

STEP = 6  # rows reserved at a time: ~1 layout per 6 lines of text instead of one a frame
FREEZE = 1200  # characters the live part holds before its finished lines are frozen
KEEP = 300  # ... of which the last ones stay live


class LiveText(LaidOutOnce, Vertical):
    DEFAULT_CSS = """
    LiveText { height: auto; }
    LiveText > Static { height: auto; }
    """

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = text
        self.live = TextPiece(text, markup=False)
        self.frozen = 0  # characters of `text` held by the frozen pieces
        self.reserved = 0  # rows held for the live part while it streams; 0: its own height
        self.streaming = False  # set_text was called and settle was not (yet)
        self._width = 0
        self._shown, self._shown_rows = "", 0  # the live piece's text at the last frame
        # rows a layout already asked for will free above this text, which the geometry
        # _free_rows reads does not show yet (a reply's thinking folding as its answer
        # starts); taken by the next reservation
        self.freeing = 0

    def compose(self) -> ComposeResult:
        yield self.live

    def set_text(self, text: str, *, shrink: bool = False) -> bool:
        """Show `text` (the text so far: it only grows, unless `shrink`: its start went
        elsewhere, and the rows reserved are measured again); True when that took a layout."""
        self.text = text
        self.streaming = True
        if shrink:  # the frozen pieces held the start that went: measured from scratch
            self._unfreeze()
            self.reserved = 0
        width = self.live.content_region.width
        if not width:
            # not laid out yet (or hidden): measured at the first layout, which holds STEP
            # rows for it. A reply's first text comes before its first layout; taking its
            # own height there, it took a second layout to reserve rows as the reply began,
            # ~25 ms of a 2-core machine beside llama.cpp's threads on their first tokens
            self.live.update(text[self.frozen :], layout=False)
            self._shown, self._shown_rows = "", 0
            if self.reserved < STEP:
                self.reserved = STEP
                self.live.styles.height = STEP
            return True
        rows = self._rows(text[self.frozen :])
        if rows <= self.reserved and not shrink:
            return False
        # the reserved rows are full: a layout comes anyway, and freezing joins it
        if self._freeze():
            rows = self._rows(text[self.frozen :])
        # the empty rows under a short chat are taken too: nothing shows of them, and the
        # text grows into them without a layout (a 200-token reply in a new chat: one)
        room = 0 if shrink else self._room()
        self.reserved = max(-(-rows // STEP) * STEP, min(room, self._most_rows(width)))
        self.live.styles.height = self.reserved  # a layout, once per STEP rows
        return True

    def take_room(self, expected: int, width: int) -> None:
        """Reserve the empty rows below this text now, as a layout asked for elsewhere
        will place it anyway: measured where it is laid out, else the `expected` rows its
        owner worked out at `width` (a reply holding the screen, as its answer begins;
        reserved at the text's first frame instead, after its first STEP rows, they took
        one more layout of the screen a reply, ~8 ms of a 2-core machine)."""
        if self.live.content_region.width:
            expected, width = self._room(), self.live.content_region.width
        rows = min(expected, self._most_rows(width))
        if rows > self.reserved:
            self.reserved = rows
            self.live.styles.height = rows

    def _room(self) -> int:
        """The live part's rows, and the empty ones below it (taken: `freeing` is used)."""
        room = self.live.size.height + self._free_rows() + self.freeing
        self.freeing = 0
        return room

    @staticmethod
    def _most_rows(width: int) -> int:
        """No more rows reserved than FREEZE characters' worth at `width`, which freezing
        keeps a frame's text to."""
        return -(-FREEZE // max(1, width)) + STEP

    def _show(self, part: str) -> None:
        """Show `part` in the live piece with a layout (its rows are measured again)."""
        self.live.update(part)
        self._shown, self._shown_rows = "", 0

    def _free_rows(self) -> int:
        """Empty rows below this text that it may grow into without moving anything else:
        under the last widget of each container up to the scrolling area this is in (a
        reply holding the screen below its question, ChatLog.hold_room), and under that
        area's content (a chat shorter than the screen)."""
        free = 0
        for node in self.ancestors:
            if not isinstance(node, Widget):
                return 0
            shown = node.displayed_children
            if shown:
                last = shown[-1]
                end = last.region.bottom + last.styles.margin.bottom
                free += max(0, node.content_region.bottom - end)
            if isinstance(node, ScrollableContainer):
                return free
        return 0

    def _rows(self, part: str) -> int:
        """Show `part` in the live piece without a layout; the rows it takes."""
        rows = self.live.show_grown(part, self._shown, self._shown_rows)
        self._shown, self._shown_rows = part, rows
        return rows

    def _freeze(self) -> bool:
        """Move the live part's finished lines into a piece of their own, once it is long."""
        part = self.text[self.frozen :]
        if len(part) <= FREEZE:
            return False
        cut = part.rfind("\n", 0, len(part) - KEEP)
        if cut >= 0:  # the newline goes with neither: the two pieces break the line there
            piece, self.frozen = part[:cut], self.frozen + cut + 1
        else:  # one long paragraph: cut at a space (a line break until settle joins them)
            cut = part.rfind(" ", 0, len(part) - KEEP)
            if cut < 0:
                return False
            piece, self.frozen = part[: cut + 1], self.frozen + cut + 1
        self.mount(TextPiece(piece, markup=False), before=self.live)
        return True

    def settle(self) -> None:
        """One piece of the text's own height again (the reply ended)."""
        self.streaming = False
        self.reserved = 0
        self._unfreeze()
        self.live.styles.height = "auto"
        self._show(self.text)

    def _unfreeze(self) -> None:
        self.frozen = 0
        for piece in self.query_children(Static):
            if piece is not self.live:
                piece.remove()

    def on_resize(self) -> None:
        # the first size (text may have come before it) or a new width: measure again
        width, self._width = self._width, self.live.content_region.width
        if self.streaming and width != self._width:
            if width:  # a new width: the rows reserved are measured again (the first
                # width keeps the STEP rows held before it, if the text fits them)
                self.reserved = 0
            self.set_text(self.text)
