"""Text that grows while a reply streams, at a cost per frame that does not grow with it.

A Static's update asks for a layout, and Textual answers a layout request by arranging every
widget on the screen again. At 10 frames a second that was most of the chat window's CPU
(about a quarter of a core on a 2-core machine, profiled with py-spy), and llama.cpp's
threads, which meet at a barrier many times per token, waited for it: with the engine at 2
threads the app made 0.75 of `ask`'s tokens/s, and 0.99 when it drew nothing until the end.

So the live part reserves its height in steps of STEP rows and lays out only when its text
outgrows them; every other frame repaints it alone. And since a repaint wraps all of its
text again (1 ms for 500 characters, 10 ms for 8,000: a long thinking trace), finished
lines are moved into frozen pieces above it, which are never drawn again while the text
grows; that happens when the live part outgrows its rows, in the layout that takes anyway
(a layout costs more the longer the chat: 25-60 ms in a new one, 100-190 ms after 30
turns). `settle()` joins the pieces and gives back the exact height. Written by hand:
Textual has no widget that grows without a layout (its Log scrolls inside a fixed height
instead, which would nest a scroll area in the chat's own).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

STEP = 6  # rows reserved at a time: ~1 layout per 6 lines of text instead of one a frame
FREEZE = 1200  # characters the live part holds before its finished lines are frozen
KEEP = 300  # ... of which the last ones stay live


class LiveText(Vertical):
    DEFAULT_CSS = """
    LiveText { height: auto; }
    LiveText > Static { height: auto; }
    """

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = text
        self.live = Static(text, markup=False)
        self.frozen = 0  # characters of `text` held by the frozen pieces
        self.reserved = 0  # rows held for the live part while it streams; 0: its own height
        self.streaming = False  # set_text was called and settle was not (yet)
        self._width = 0

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
        if not width:  # not laid out yet (or hidden): measured at the first layout
            self.live.update(text[self.frozen :])
            return True
        rows = self._rows(text[self.frozen :], width)
        if rows <= self.reserved and not shrink:
            return False
        # the reserved rows are full: a layout comes anyway, and freezing joins it
        if self._freeze():
            rows = self._rows(text[self.frozen :], width)
        self.reserved = -(-rows // STEP) * STEP
        self.live.styles.height = self.reserved  # a layout, once per STEP rows
        return True

    def _rows(self, part: str, width: int) -> int:
        """Show `part` in the live Static without a layout; the rows it takes."""
        self.live.update(part, layout=False)
        return self.live.visual.get_height(self.live.styles, width) if part else 0

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
        self.mount(Static(piece, markup=False), before=self.live)
        return True

    def settle(self) -> None:
        """One piece of the text's own height again (the reply ended)."""
        self.streaming = False
        self.reserved = 0
        self._unfreeze()
        self.live.styles.height = "auto"
        self.live.update(self.text)

    def _unfreeze(self) -> None:
        self.frozen = 0
        for piece in self.query_children(Static):
            if piece is not self.live:
                piece.remove()

    def on_resize(self) -> None:
        # the first size (text may have come before it) or a new width: measure again, so
        # what is reserved never depends on when frames fell
        width, self._width = self._width, self.live.content_region.width
        if self.streaming and width != self._width:
            self.reserved = 0
            self.set_text(self.text)
