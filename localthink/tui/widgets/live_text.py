"""Text that grows while a reply streams, without laying out the whole screen each frame.

A Static's update asks for a layout, and Textual answers a layout request by arranging every
widget on the screen again. At 10 frames a second that was most of the chat window's CPU
(about a quarter of a core on a 2-core machine, profiled with py-spy), and llama.cpp's
threads, which meet at a barrier many times per token, waited for it: with the engine at 2
threads the app made 0.75 of `ask`'s tokens/s, and 0.99 when it drew nothing until the end.

So this widget reserves its height in steps of STEP rows and lays out only when its text
outgrows them; every other frame repaints it alone. `settle()` gives back the exact height.
Written by hand: Textual has no widget that grows without a layout (its Log scrolls inside
a fixed height instead, which would nest a scroll area in the chat's own).
"""

from __future__ import annotations

from textual.widgets import Static

STEP = 6  # rows reserved at a time: ~1 layout per 6 lines of text instead of one a frame


class LiveText(Static):
    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(text, markup=False, **kwargs)
        self.text = text
        self.reserved = 0  # rows held for the text while it streams; 0: its own height
        self.streaming = False  # set_text was called and settle was not (yet)
        self._width = 0

    def set_text(self, text: str) -> bool:
        """Show `text`; True when that took a layout (the widget grew or shrank)."""
        self.text = text
        self.streaming = True
        width = self.content_region.width
        if not width:  # not laid out yet (or hidden): nothing to reserve against
            self.update(text)
            return True
        self.update(text, layout=False)  # the new visual, measured below before a layout
        rows = self.visual.get_height(self.styles, width) if text else 0
        if rows <= self.reserved:
            return False
        self.reserved = -(-rows // STEP) * STEP
        self.styles.height = self.reserved  # a layout, once per STEP rows
        return True

    def settle(self) -> None:
        """Back to the text's own height (the reply ended, or the width changed)."""
        self.reserved = 0
        self.streaming = False
        self.styles.height = "auto"
        self.update(self.text)

    def on_resize(self) -> None:
        # the first size (text may have come before it) or a new width: measure again, so
        # what is reserved never depends on when frames fell
        width, self._width = self._width, self.content_region.width
        if self.streaming and width != self._width:
            self.reserved = 0
            self.set_text(self.text)
