"""The scrolling log of a chat: it follows a growing reply until the user scrolls up."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widget import Widget

from localthink.tui.widgets.messages import UserMessage
from localthink.tui.widgets.sizing import DrawnByLayout, LaidOutOnce, rows_at


class ChatLog(DrawnByLayout, LaidOutOnce, VerticalScroll):
    """`following` is the user's intent, not the position at one moment: while it is set,
    the log goes to its end after each layout that changed its content's height (a reply
    that grew, or was measured again at a new width). Asked at each frame, the position
    could be stale (a reply drawn before its first layout scrolled to the old end), and a
    reply that grew then stayed out of view. Textual's own anchor does this too, but holds
    content shorter than the screen against its bottom edge.

    Its content's height is set without asking for a second layout (sizing.py): Textual
    updates its scrollbars apart from that request, and the log's own watcher below still
    runs. In a chat taller than the screen, each growth of a streaming reply took two
    layouts of the whole screen; now one, and the scroll that follows it."""

    following = True
    held: Widget | None = None  # the reply holding the screen below its question

    def watch_virtual_size(self) -> None:
        # the content grew (or shrank) in a layout: still following, to its end at once
        # (the layout has set the size the end is measured by); the screen then draws one
        # frame, at the new position, where it drew the old one first (tui/screen.py).
        # Not where the log had no scrollbar before this layout (it cannot scroll yet),
        # and again once the layout is done, as Textual measures the end: that one moves
        # nothing unless the log's own size changed in the layout too (a resize)
        if not self.following:
            return
        if self.allow_vertical_scroll:
            before = self.scroll_y
            self.scroll_end(animate=False, immediate=True)
            follows = getattr(self.screen, "scroll_follows_layout", None)
            if self.scroll_y != before and follows is not None:
                follows()
        self.scroll_end(animate=False)

    def release_anchor(self) -> None:
        # Textual calls this for every scroll the user makes (wheel, keys, scrollbar) and
        # for none the app makes with scroll_end
        super().release_anchor()
        self.following = False

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y:  # back at the end: follow again
            self.following = True

    def follow(self) -> None:
        """Go to the end (after the next layout) and follow what comes."""
        self.following = True
        self.scroll_end(animate=False)

    def hold_room(self, reply: Widget) -> None:
        """The new turn takes the screen: its reply is at least as tall as the rows from
        under its question to the log's bottom edge, so that, following, the question sits
        at the top (as ChatGPT's web app shows a new question) and the reply grows into
        the empty rows below it without a layout (LiveText takes them; in a chat taller
        than the screen each growth took two layouts of every turn's widgets, 45-55 ms of a
        2-core machine after 30 turns, beside llama.cpp's threads). The rows stay empty
        until the next question: a short reply does not drop the question back down as it
        ends. Measured by hand from the turn's widgets, before or after they are laid out:
        Textual's CSS has no height for "the log's, less the question's"."""
        if self.held is not None and self.held is not reply:
            self.release_room()
        self.held = reply
        shown = list(self.displayed_children)
        if reply not in shown:
            return
        end = shown.index(reply)
        start = max((i for i in range(end) if isinstance(shown[i], UserMessage)), default=end)
        width = self.scrollable_content_region.width
        viewport = self.app.size
        above, gap = 0, None  # rows above the reply in its turn; the margin before the next
        for widget in shown[start : end + 1]:
            margin = widget.styles.margin  # margins between siblings collapse, as Textual's
            above += margin.top if gap is None else max(gap, margin.top)
            if widget is reply:
                break
            above += rows_at(widget, width, viewport)
            gap = margin.bottom
        room = self.scrollable_content_region.height - above - reply.styles.margin.bottom
        reply.styles.min_height = max(0, room)

    def release_room(self) -> None:
        """The held reply takes its own height again (a new question came)."""
        held, self.held = self.held, None
        if held is not None and held.is_attached:
            held.styles.min_height = None

    def on_resize(self) -> None:
        if self.held is not None and self.held.is_attached:  # a new height to fill
            self.hold_room(self.held)
