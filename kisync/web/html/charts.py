"""Bar charts drawn on the server: the geometry of an SVG that needs no script and no inline style.

Widths are percentages of the chart's width, so the bars follow the page
from 320 px to a wide screen while the text keeps its size (a viewBox
would shrink the labels to nothing on a phone). Every chart has the same
numbers as a table next to it, and a text alternative of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

# The longest bar leaves room for its number behind it.
MAX_BAR_PERCENT = 80.0
ROW_HEIGHT = 48  # label line + bar
LABEL_CHARS = 40  # a longer label is cut in the chart; the table has it whole


@dataclass(frozen=True)
class Bar:
    label: str  # as the chart shows it
    full_label: str
    count: int
    percent: float  # bar width, of the chart's width
    y: int  # top of the row


@dataclass(frozen=True)
class BarChart:
    key: str  # unique on the page: ids of title and description
    title: str
    bars: list[Bar]

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * ROW_HEIGHT

    @property
    def description(self) -> str:
        """The text alternative: every bar's label and number, in order."""
        if not self.bars:
            return "Keine Einträge."
        return "; ".join(f"{bar.full_label}: {bar.count}" for bar in self.bars) + "."


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def bar_chart(key: str, title: str, counts: list[tuple[str, int]]) -> BarChart:
    """A chart of ``(label, count)`` in the order given."""
    top = max((count for _, count in counts), default=0)
    bars = [
        Bar(
            label=_short(label),
            full_label=label,
            count=count,
            percent=round(MAX_BAR_PERCENT * count / top, 2) if top else 0.0,
            y=index * ROW_HEIGHT,
        )
        for index, (label, count) in enumerate(counts)
    ]
    return BarChart(key, title, bars)
