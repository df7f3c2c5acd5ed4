"""Server-side KPI charts rendered with matplotlib (no pyplot, no GUI backend).

Every chart is an 8 x 4 in figure at 100 dpi: PNG output is exactly 800 x 400 px.
SVG output says ``width="576pt" height="288pt"`` with ``viewBox="0 0 576 288"``:
the same 8 x 4 in at 72 pt/in, i.e. 800 x 400 CSS px at 96 px/in.

Output is deterministic (same input -> same bytes): no dates or software
metadata, a fixed ``svg.hashsalt`` for SVG ids, and month names that do not
depend on the process locale. SVG text stays real ``<text>`` elements so it is
searchable and accessible. Tests find parts by id: ``kpi-line``,
``target-line`` and ``bars``.
"""

import io
import math
import textwrap
import threading
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import matplotlib
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from iro_kit.exports import PNG_TYPE, SVG_TYPE  # noqa: F401 (the media types of the charts)


class ChartFormat(StrEnum):
    svg = "svg"
    png = "png"


WIDTH, HEIGHT = 800, 400  # pixels
_DPI = 100

# rcParams are process-global, and rc_context() swaps them in and out, so two
# threads rendering at once could see (or restore) each other's settings. The
# lock serialises rendering; matplotlib holds the GIL while drawing anyway.
_LOCK = threading.Lock()
_RC = {
    "svg.fonttype": "none",  # keep <text>, don't convert glyphs to paths
    "svg.hashsalt": "scorecard",  # deterministic clip-path / glyph ids
    "font.family": "DejaVu Sans",  # ships with matplotlib: same output everywhere
    "savefig.bbox": "standard",  # "tight" would change the pixel size
}
_METADATA = {ChartFormat.svg: {"Date": None}, ChartFormat.png: {"Software": None}}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_X_TICKS = 8  # "Mar 2017" labels stay horizontal and apart at this many


@dataclass(frozen=True)
class TrendPoint:
    on: date  # a month end
    value: float | None  # percentage 0-100 (or a count); None when the denominator was 0


def trend_chart(
    title: str, points: list[TrendPoint], target: float | None, y_label: str, fmt: ChartFormat
) -> bytes:
    """A monthly line chart; None values leave a gap, ``target`` adds a dashed line."""
    with _LOCK, matplotlib.rc_context(_RC):
        fig, ax = _figure(title, "Month end", y_label)
        points = sorted(points, key=lambda p: p.on)
        _plot_trend(ax, points)
        if target is not None:
            line = ax.axhline(target, linestyle="--", color="tab:red", label=f"Target ({target:g})")
            line.set_gid("target-line")
            ax.legend(handles=[line], loc="best")
        _scale_y(ax, y_label, points)
        if not any(p.value is not None for p in points):
            _no_data(ax)
        return _save(fig, fmt)


def bar_chart(
    title: str, bars: list[tuple[str, int]], x_label: str, y_label: str, fmt: ChartFormat
) -> bytes:
    """Horizontal bars of counts, first item on top; an empty list says "No data".

    Horizontal bars keep long category labels (dispute themes) readable without
    rotation. ``x_label`` names the category axis and ``y_label`` the count axis,
    as for a vertical chart, so callers need not know the orientation.
    """
    with _LOCK, matplotlib.rc_context(_RC):
        fig, ax = _figure(title, y_label, x_label)  # counts run along x
        if bars:
            _plot_bars(ax, bars)
        else:
            _no_data(ax)
        return _save(fig, fmt)


def _figure(title: str, x_label: str, y_label: str) -> tuple[Figure, Axes]:
    # Constrained layout fits long tick labels inside the fixed 8x4 in canvas.
    fig = Figure(figsize=(WIDTH / _DPI, HEIGHT / _DPI), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    # parse_math=False: a "$" in user text is a dollar, not the start of TeX.
    ax.set_title(title, parse_math=False)
    ax.set_xlabel(x_label, parse_math=False)
    ax.set_ylabel(y_label, parse_math=False)
    return fig, ax


def _plot_trend(ax: Axes, points: list[TrendPoint]) -> None:
    xs = [p.on for p in points]
    # NaN breaks the line; markers keep an isolated point between gaps visible.
    ys = [math.nan if p.value is None else p.value for p in points]
    (line,) = ax.plot(xs, ys, marker="o", color="tab:blue", clip_on=False)
    line.set_gid("kpi-line")
    # Ticks sit on the month ends themselves (a date locator would put them on
    # the 1st), thinned so labels never overlap.
    step = max(1, math.ceil(len(xs) / _MAX_X_TICKS))
    ax.set_xticks(xs[::step], [f"{_MONTHS[d.month - 1]} {d.year}" for d in xs[::step]])


def _scale_y(ax: Axes, y_label: str, points: list[TrendPoint]) -> None:
    if "%" in y_label:
        ax.set_ylim(0, 100)  # percentages: a fixed scale makes charts comparable
        return
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if all(p.value is None or p.value >= 0 for p in points):
        ax.set_ylim(bottom=0)  # counts: a truncated axis exaggerates change


def _plot_bars(ax: Axes, bars: list[tuple[str, int]]) -> None:
    labels = [_tick_text(label) for label, _ in bars]
    counts = [count for _, count in bars]
    container = ax.barh(range(len(bars)), counts)
    ax.bar_label(container, padding=3)
    # barh writes one SVG group per bar; redraw them as one collection so the
    # SVG has a single group with a unique id. The hidden originals still drive
    # autoscaling and bar_label. Fresh Rectangles: their paths are in data units.
    rects = [Rectangle(p.get_xy(), p.get_width(), p.get_height()) for p in container]
    for patch in container:
        patch.set_visible(False)
    ax.add_collection(PatchCollection(rects, facecolor="tab:blue", gid="bars"))
    ax.set_yticks(range(len(bars)), labels)
    ax.invert_yaxis()  # first item on top, in reading order
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(max(counts), 1) * 1.12)  # headroom for the value labels


def _tick_text(label: str) -> str:
    # Tick labels can't take parse_math=False (ticks are recreated), so escape
    # "$" instead; wrap long labels onto two lines rather than squash the plot.
    wrapped = textwrap.wrap(label, width=30, max_lines=2, placeholder="…") or [""]
    return "\n".join(wrapped).replace("$", r"\$")


def _no_data(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", fontsize=14)


def _save(fig: Figure, fmt: ChartFormat) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt.value, dpi=_DPI, metadata=_METADATA[fmt])
    return buf.getvalue()
