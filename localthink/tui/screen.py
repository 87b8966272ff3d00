"""The chat's screen: Textual's, drawing less of the screen per frame and per layout.

On a 2-core machine every millisecond the window draws is one llama.cpp's threads wait out
beside it, and these things Textual does cost a streaming reply most (benchmarks/
tui_draw_cost.py; counters on arrangements, rows rendered and frames; cProfile):

- A full layout (Compositor.reflow) arranges every widget, visible or not, and keeps that
  map, but leaves it marked stale when the layout before it was a scroll (which marks it
  so, rightly: scrolling moves everything). The same layout then sets each widget's new
  size, which asks where the widget is, and Textual arranged the whole screen a second
  time to answer: ~26 ms in a chat of 30 turns (600 widgets), five times a reply.
- A layout drew again every widget whose geometry changed at all, the log whose virtual
  size alone changed too (all of its area); now only widgets that came, went, moved, were
  resized or reordered. And each one it resized was drawn whole once more at its next
  frame (Textual marks it so as it takes its new size); the layout drew it: no longer.
- A partial update (a frame of a streaming reply: a row or two) rendered every row of each
  widget whose area met the update's rows: the chat list, the log and the screen, 200 rows
  for two. Now each widget under the update's regions renders the rows under them, the
  chat list beside it nothing, and the containers behind the reply's text give the lines
  their render cache holds.
- A reply that grows in a chat taller than the screen takes a layout, and the log then
  scrolls to follow it: Textual drew the layout's frame at the old scroll position, and
  then the scroll's. The first is left out (the scroll's frame draws all of it), which
  also takes away a frame in which the reply's new rows showed below the screen's edge.

Textual offers no hooks for these, hence the subclasses (textual 8.2); tests/tui/
test_screen.py holds Textual's own behaviour and output beside ours (strips, terminal
bytes, an emulated terminal against the screen rendered afresh), and fails when it changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import errors
from textual._compositor import Compositor, CompositorMap, ReflowResult
from textual.geometry import Region, Size
from textual.map_geometry import MapGeometry
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget


class MapKeepingCompositor(Compositor):
    # the widgets the last layout drew whole (they came, moved or were resized), each
    # with where it was before (None: it came); ChatScreen takes it after the layout
    laid_out: dict[Widget, MapGeometry | None]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.laid_out = {}

    def reflow(self, parent: Widget, size: Size) -> ReflowResult:
        old_map, dirty = self._full_map, set(self._dirty_regions)
        result = super().reflow(parent, size)
        # reflow arranged all widgets (not the visible ones only): its map is the full map
        self._full_map_invalidated = False
        new_map = self._full_map
        if size.region in dirty:  # the whole screen: each widget in it
            self.laid_out = {widget: old_map.get(widget) for widget in new_map}
        else:
            self.laid_out = self._moved(old_map, new_map)
            self._dirty_regions = dirty | self._moved_regions(old_map, new_map, self.laid_out)
        return result

    @staticmethod
    def _moved(old_map: dict, new_map: dict) -> dict[Widget, MapGeometry | None]:
        """The widgets that came, moved, were resized or reordered, with where they were.
        Textual draws again each widget whose geometry changed at all: a turn put in a new
        chat changed the log's virtual size only, and drew all of the log again, ~2/3 of
        that frame. (A scrollbar whose thumb moves with that size repaints itself.)"""
        moved = {}
        for widget, new in new_map.items():
            old = old_map.get(widget)
            if old is None or (old.region, old.clip, old.order) != (
                new.region,
                new.clip,
                new.order,
            ):
                moved[widget] = old
        return moved

    @staticmethod
    def _moved_regions(old_map: dict, new_map: dict, moved: dict) -> set[Region]:
        """What a layout draws again: where each widget that moved (`moved`) or went is
        and was."""
        regions = {new_map[widget].visible_region for widget in moved}
        regions.update(old.visible_region for old in moved.values() if old is not None)
        regions.update(old.visible_region for w, old in old_map.items() if w not in new_map)
        return {region for region in regions if region}

    @property
    def full_map(self) -> CompositorMap:
        # Built again on demand after a scroll (a widget's region asked for), the map takes
        # in what changed since the last layout, and that layout, comparing with it, sees
        # nothing move: chats reordered in the list while the log had scrolled stayed drawn
        # in their old order. What moved against what was drawn is drawn at the next frame.
        if self.root is not None and self._full_map_invalidated:
            drawn = self._visible_map if self._visible_map is not None else self._full_map
            new_map = super().full_map
            moved = self._moved(drawn, new_map)
            self._dirty_regions.update(self._moved_regions(drawn, new_map, moved))
            return new_map
        return super().full_map

    def find_widget(self, widget: Widget) -> MapGeometry:
        # A hidden widget is in no map, and arranging the screen anew to look for it finds
        # it in none either: after a scroll, updating a hidden Static (an empty note, a
        # folded thinking block's text) took a whole arrangement to learn that
        if self._full_map_invalidated and not self._shown(widget):
            raise errors.NoWidget("Widget is not in layout")
        return super().find_widget(widget)

    _updating: list[Region] | None = None  # the regions of the partial update being drawn

    def render_partial_update(self):
        self._updating = list(self._dirty_regions)
        try:
            return super().render_partial_update()
        finally:
            self._updating = None

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        """For a partial update, each widget under one of its regions renders the rows it
        has under them, not all of its rows (Textual's); a widget under none renders
        nothing (the chat list beside a reply's new rows). The update draws only the cuts
        under its regions, each filled by a widget overlapping them. `crop` bounds the
        regions: after a layout, a new chat in the list, the reply and the emptied prompt
        made it most of the screen."""
        if crop is None:
            yield from super()._get_renders(crop)
            return
        regions = self._updating or [crop]
        for widget, (region, clip) in self.visible_widgets.items():
            visible = region.intersection(clip)
            under = [r for r in (visible.intersection(r) for r in regions) if r]
            if not under:
                continue
            top = min(r.y for r in under)
            rows = Region(0, top, self.size.width, max(r.bottom for r in under) - top)
            clip = clip.intersection(rows)  # whole lines: each cut under the regions filled
            x, y, width, height = region.intersection(clip)
            if width and height:
                lines = Region(x - region.x, y - region.y, width, height)
                yield region, clip, self._kept_lines(widget, lines) or widget.render_lines(lines)

    @staticmethod
    def _kept_lines(widget: Widget, crop: Region) -> list[Strip] | None:
        """The widget's lines in `crop` as its render cache holds them, when that is what
        rendering would return (none dirty, no link under the mouse); else None. Each frame
        of a streaming reply draws a row or two of the reply's text, behind which lie the
        reply, the log and their containers, whose lines have not changed; Textual works out
        each one's borders, padding, opacity and theme before it looks in the cache: about
        a third of such a frame's CPU (cProfile). The line filters (Textual's ANSI colour
        conversion) still apply, on the widget's background, as Textual applies them."""
        cache = widget._styles_cache
        held = cache._cache
        if (
            widget.BLANK
            or cache._width != widget.region.width
            or not cache._dirty_lines.isdisjoint(crop.line_range)
            or any(y not in held for y in crop.line_range)
            or (widget.auto_links and widget.hover_style._link_id)
        ):
            return None
        strips = [held[y] for y in crop.line_range]
        filters = widget.get_line_filters()
        if filters:
            background = widget.background_colors[1]
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        if crop.column_span != (0, cache._width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    @staticmethod
    def _shown(widget: Widget) -> bool:
        return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


class ChatScreen(Screen):
    """The app's default screen (App.get_default_screen)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = MapKeepingCompositor()
        self._scroll_follows = False

    def scroll_follows_layout(self) -> None:
        """Said during a layout by a log that scrolled to follow what the layout grew (its
        scroll position moved): the scroll's own layout, which Textual runs next, draws
        the frame, and what this layout changed with it."""
        self._scroll_follows = True

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        self._scroll_follows = False  # a scroll layout (or any other) draws its frame
        super()._refresh_layout(size, scroll)
        laid_out, self._compositor.laid_out = self._compositor.laid_out, {}
        # Each widget whose size the layout changed marked all of itself to be drawn again
        # (Widget._size_updated, and the refresh of its virtual size), which the next frame
        # that widget asked for did: a reply's text, moved and given its rows as the reply
        # began, was drawn whole a second time (22 rows in the frame after the layout,
        # where 1-2 had changed). The layout drew all of it: that mark goes, at its old size
        # or its new (a repaint asked for since, of a part, stays).
        for widget, before in laid_out.items():
            marks = widget._repaint_regions
            marks.discard(widget.outer_size.region)
            if before is not None:
                marks.discard(before.region.size.region)

    def _compositor_refresh(self) -> None:
        if not self._scroll_follows:  # else the regions to draw wait for the scroll's frame
            super()._compositor_refresh()
