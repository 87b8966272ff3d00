"""The chat's screen: Textual's, with a compositor that keeps the map a layout made.

A full layout (Compositor.reflow) arranges every widget of the screen, visible or not, and
keeps that map; but it leaves the map marked stale when the layout before it was a scroll
(reflow_visible marks it so, rightly: scrolling moves everything). The same layout then
sets each widget's new size, which asks where the widget is, and the stale mark makes
Textual arrange the whole screen a second time to answer. In a chat of 30 turns (600
widgets) that second arrangement took ~26 ms at each growth of a streaming reply, five
times a reply on a 2-core machine: 130 ms of the window's ~600, each a stall of the token
llama.cpp's threads were computing beside it (benchmarks/tui_draw_cost.py, a counter on
the rebuilds). Textual offers no hook for it, hence the subclass (textual 8.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import errors
from textual._compositor import Compositor, ReflowResult
from textual.geometry import Region, Size
from textual.map_geometry import MapGeometry
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget


class MapKeepingCompositor(Compositor):
    def reflow(self, parent: Widget, size: Size) -> ReflowResult:
        result = super().reflow(parent, size)
        # reflow arranged all widgets (not the visible ones only): its map is the full map
        self._full_map_invalidated = False
        return result

    def find_widget(self, widget: Widget) -> MapGeometry:
        # A hidden widget is in no map, and arranging the screen anew to look for it finds
        # it in none either: after a scroll, updating a hidden Static (an empty note, a
        # folded thinking block's text) took a whole arrangement to learn that
        if self._full_map_invalidated and not self._shown(widget):
            raise errors.NoWidget("Widget is not in layout")
        return super().find_widget(widget)

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        """Each widget's lines in the rows of `crop` (a partial update), not all of them."""
        if crop is None:
            yield from super()._get_renders(crop)
            return
        rows = Region(0, crop.y, self.size.width, crop.height)  # whole lines: each cut filled
        for widget, (region, clip) in self.visible_widgets.items():
            clip = clip.intersection(rows)
            x, y, width, height = region.intersection(clip)
            if width and height:
                yield (
                    region,
                    clip,
                    widget.render_lines(Region(x - region.x, y - region.y, width, height)),
                )

    @staticmethod
    def _shown(widget: Widget) -> bool:
        return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


class ChatScreen(Screen):
    """The app's default screen (App.get_default_screen)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = MapKeepingCompositor()
