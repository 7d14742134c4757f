"""The /trend chart: NPS by month, one line per kind of person, rendered to PNG bytes.

Pure (data in, bytes out) and headless: the Agg backend, and a `Figure` made directly rather than
through pyplot, so no global figure registry exists to leak from one call to the next. Callers run
`render_trend` in a worker thread; matplotlib is not thread-safe, so renders are serialised by a
lock (one render takes a fraction of a second). The image is 1000×700 px: 5×3.5 inches at 200 dpi,
so 8-point labels are about 22 px tall and stay readable when a phone shrinks the photo.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 5.0, 3.5, 200
COLORS = {
    "client": "#1f77b4",
    "supplier": "#d62728",
    "contractor": "#2ca02c",
    "partner": "#9467bd",
}
_FALLBACK_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")
Y_MIN, Y_MAX = -112.0, 112.0  # NPS runs from -100 to 100; a margin keeps end points visible
LEGEND_ROW_CHARS = 60  # characters of legend labels that fit in one row at 6.5 points
LABEL_GAP = 10.0  # NPS points between two count labels: about one 5.5-point line at this size
_render_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Series:
    """One line: NPS per month (None where nobody answered) and the number of answers."""

    key: str  # the kind of person, for a stable colour
    label: str
    nps: tuple[int | None, ...]
    answers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TrendChart:
    title: str
    months: tuple[str, ...]  # x labels, oldest first
    series: tuple[Series, ...]
    footnote: str = ""


def _plain(text: str) -> str:
    """Matplotlib reads `$...$` as math; a company name with a dollar sign must stay text."""
    return text.replace("$", r"\$")


def render_trend(chart: TrendChart) -> bytes:
    """The chart as PNG bytes, 1000×700 px."""
    for s in chart.series:
        if len(s.nps) != len(chart.months) or len(s.answers) != len(chart.months):
            raise ValueError(f"series {s.key!r} does not have one value per month")
    with _render_lock:
        # matplotlib (about 40 MiB and a second of start-up) is loaded by the first chart, not by
        # every process that imports the reports handler.
        import matplotlib

        matplotlib.use("Agg", force=True)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
        try:
            FigureCanvasAgg(fig)
            _draw(fig, chart)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI)
            return buffer.getvalue()
        finally:
            fig.clear()


def label_positions(values: list[float], gap: float = LABEL_GAP) -> list[float]:
    """Heights for the count labels of one month: as close to their points as possible, at least
    `gap` apart (several kinds often have nearly the same NPS), and inside the axis."""
    order = sorted(range(len(values)), key=lambda k: -values[k])
    placed: list[float] = []
    for k in order:  # from the top down, each label at its point or just below the one above
        y = min(values[k], Y_MAX - gap / 2)
        placed.append(y if not placed else min(y, placed[-1] - gap))
    overflow = (Y_MIN + gap / 2) - placed[-1] if placed else 0.0
    if overflow > 0:  # ran off the bottom: push the whole stack up
        placed = [y + overflow for y in placed]
    out = [0.0] * len(values)
    for k, y in zip(order, placed, strict=True):
        out[k] = y
    return out


def _draw(fig: Figure, chart: TrendChart) -> None:
    ax = fig.add_subplot()
    x = list(range(len(chart.months)))
    ax.axhline(0, color="#555555", linewidth=0.9, zorder=1)
    colors = [
        COLORS.get(s.key, _FALLBACK_COLORS[n % len(_FALLBACK_COLORS)])
        for n, s in enumerate(chart.series)
    ]
    for s, color in zip(chart.series, colors, strict=True):
        ax.plot(
            x,
            [math.nan if v is None else v for v in s.nps],
            color=color,
            marker="o",
            markersize=3.5,
            linewidth=1.6,
            label=_plain(s.label),
            zorder=3,
        )
    # The number of answers sits right of each point; labels of one month are spread apart.
    for i in x:
        points = [(s.nps[i], s.answers[i], c) for s, c in zip(chart.series, colors, strict=True)]
        points = [(v, n, c) for v, n, c in points if v is not None]
        heights = label_positions([float(v) for v, _, _ in points])
        for (_, count, color), y in zip(points, heights, strict=True):
            ax.annotate(
                str(count),
                (i, y),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=5.5,
                color=color,
                fontweight="bold",
                bbox={
                    "boxstyle": "round,pad=0.1",
                    "facecolor": "white",
                    "edgecolor": "none",
                    "alpha": 0.8,
                },
                zorder=4,
            )
    ax.set_xlim(-0.5, len(chart.months) - 0.5)
    ax.set_ylim(Y_MIN, Y_MAX)
    ax.set_yticks([-100, -50, 0, 50, 100])
    ax.set_xticks(x, [_plain(m) for m in chart.months])
    ax.tick_params(axis="both", labelsize=6.5, length=2)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5, zorder=0)
    ax.set_ylabel("NPS", fontsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.suptitle(_plain(chart.title), fontsize=9, fontweight="bold")
    if chart.footnote:
        ax.set_title(_plain(chart.footnote), fontsize=6, color="#666666")
    if chart.series:
        # Under the plot, in one row if the labels fit the width of a phone screen, else two.
        one_row = sum(len(s.label) for s in chart.series) <= LEGEND_ROW_CHARS
        fig.legend(
            loc="outside lower center",
            ncols=len(chart.series) if one_row else 2,
            fontsize=6.5,
            frameon=False,
            handlelength=1.5,
            columnspacing=1.2,
        )
