"""The response-time chart: each answer's business hours against the client's window, as a PNG.

Built on ``matplotlib.figure.Figure`` with the Agg canvas, never ``pyplot``: no global
figure state, so charts can be drawn in worker threads. Labels arrive translated.
"""

from __future__ import annotations

import importlib.util
import io
import random
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Series:
    label: str  # the client's name
    hours: list[float]  # business hours to each answer
    window_hours: float


@dataclass(frozen=True)
class Labels:
    title: str
    y_axis: str
    window: str
    empty: str


CHARTS_EXTRA_HINT = 'pip install "nexo[charts]"'  # what an installation without matplotlib lacks
RESPONSE_CHART = "response_time_chart"  # its name in an outbox upload (``bot.delivery.outbox.enqueue_upload``)


def charts_available() -> bool:
    """Whether matplotlib (the ``charts`` extra) is installed, asked without importing it (that takes a
    second). Without it, reports give the chart's figures as a table (``report_blocks.answers_table``)."""
    return importlib.util.find_spec("matplotlib") is not None


def chart_args(series: list[Series], labels: Labels) -> dict[str, Any]:
    """What to draw, as JSON the outbox stores until the chart is drawn and uploaded."""
    return {"series": [asdict(s) for s in series], "labels": asdict(labels)}


def draw_chart(args: dict[str, Any]) -> bytes:
    """The chart ``chart_args`` described."""
    return response_time_chart([Series(**s) for s in args["series"]], Labels(**args["labels"]))


def response_time_chart(series: list[Series], labels: Labels) -> bytes:
    """One column per client: a box of the answers, each answer as a dot, the window as a red dash."""
    # matplotlib takes a second to import: only a process that draws pays for it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.0, 1.4 * len(series) + 3), 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    jitter = random.Random(0)  # the same picture for the same figures
    positions = list(range(1, len(series) + 1))
    filled = [s for s in series if s.hours]
    if filled:
        axes.boxplot(
            [s.hours for s in filled],
            positions=[positions[series.index(s)] for s in filled],
            widths=0.5,
            showfliers=False,
        )
    for position, item in zip(positions, series, strict=True):
        axes.scatter(
            [position + jitter.uniform(-0.15, 0.15) for _ in item.hours],
            item.hours,
            s=14,
            alpha=0.6,
            color="#1f3a5f",
            zorder=3,
        )
        axes.hlines(
            item.window_hours,
            position - 0.35,
            position + 0.35,
            colors="#c0392b",
            linestyles="dashed",
            label=labels.window if position == 1 else "_nolegend_",
            zorder=4,
        )
    if not filled:
        axes.text(0.5, 0.5, labels.empty, transform=axes.transAxes, ha="center", va="center", color="#666666")
    axes.set_xticks(positions, [s.label[:20] for s in series], rotation=20 if len(series) > 4 else 0)
    axes.set_xlim(0.3, len(series) + 0.7)
    axes.set_ylim(bottom=0)
    axes.set_ylabel(labels.y_axis)
    axes.set_title(labels.title)
    axes.legend(loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
