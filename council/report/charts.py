"""Charts built from the SVG primitives: bar charts, a histogram, a line chart and tally bars.

Each chart is a complete accessible ``<svg>`` (see :func:`council.report.svg.figure`) sized in
view-box pixels for a half-width (~580 px) or full-width (~1180 px) slot of the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from council.report import svg
from council.report.fmt import quantity

ROW_PX = 24
LABEL_PX = 150


@dataclass(frozen=True, slots=True)
class Segment:
    """One coloured piece of a bar: ``value`` units labelled ``label``."""

    label: str
    value: float
    fill: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a horizontal bar chart, made of stacked segments."""

    label: str
    segments: Sequence[Segment]
    note: str = ""  # shown after the bar, e.g. the seat's behaviours

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


@dataclass(frozen=True, slots=True)
class Marker:
    """A labelled vertical line at data value ``at``."""

    at: float
    label: str
    stroke: str = svg.INK


def bar_chart(
    figure_id: str,
    title: str,
    bars: Sequence[Bar],
    value_label: Callable[[float], str],
    *,
    width: float = 580,
    legend: Sequence[tuple[str, str]] = (),
    description: str = "",
) -> str:
    """Horizontal (optionally stacked) bars, one row per :class:`Bar`, value after each bar."""
    top = 26 if legend else 6
    height = top + max(1, len(bars)) * ROW_PX + 8
    notes = max((svg.text_width(b.note, 11) for b in bars), default=0)
    note_px = min(260.0, notes + 8 if notes else 0)
    scale = svg.Scale(
        (0, max((b.total for b in bars), default=1) or 1), (LABEL_PX, width - 70 - note_px)
    )
    parts = [svg.legend(legend, LABEL_PX, 14)] if legend else []
    if not bars:
        parts.append(
            svg.text(width / 2, top + 16, "nothing recorded", anchor="middle", fill=svg.MUTED)
        )
    for row, bar in enumerate(bars):
        y = top + row * ROW_PX
        parts.append(
            svg.text(LABEL_PX - 8, y + 16, svg.truncate(bar.label, LABEL_PX - 10), anchor="end")
        )
        x = float(LABEL_PX)
        for segment in bar.segments:
            end = x + scale(segment.value) - LABEL_PX
            hint = f"{bar.label} — {segment.label}: {value_label(segment.value)}"
            parts.append(svg.rect(x, y + 4, end - x, ROW_PX - 8, segment.fill, hint=hint))
            x = end
        parts.append(svg.text(x + 6, y + 16, value_label(bar.total), fill=svg.MUTED, size=11))
        if bar.note:
            note_x = width - note_px
            parts.append(
                svg.text(
                    note_x, y + 16, svg.truncate(bar.note, note_px, 11), size=11, fill="#b42318"
                )
            )
    return svg.figure(figure_id, width, height, title, "".join(parts), description=description)


def histogram(
    figure_id: str,
    title: str,
    values: Sequence[int],
    *,
    markers: Sequence[Marker] = (),
    width: float = 580,
    height: float = 260,
    x_label: Callable[[float], str] = quantity,
    fill: str = svg.CATEGORICAL[0],
    description: str = "",
) -> str:
    """Counts of ``values`` in round-width bins, with labelled vertical ``markers``."""
    left, right, top, bottom = 44.0, width - 16, 30.0, height - 40
    if not values:
        empty = svg.text(
            width / 2, height / 2, "no decided motions", anchor="middle", fill=svg.MUTED
        )
        return svg.figure(figure_id, width, height, title, empty, description=description)
    edges = svg.nice_ticks(0, max(values) or 1, 24)
    step = edges[1] - edges[0] if len(edges) > 1 else 1.0
    edges.append(edges[-1] + step)
    counts = [0] * (len(edges) - 1)
    for value in values:
        counts[min(len(counts) - 1, int((value - edges[0]) // step))] += 1
    xs = svg.Scale((edges[0], edges[-1]), (left, right))
    ys = svg.Scale((0, max(counts)), (bottom, top))
    y_ticks = [t for t in svg.nice_ticks(0, max(counts), 4) if t == int(t)]
    parts = [svg.y_axis(ys, left, y_ticks, lambda t: f"{t:.0f}", grid_to=right)]
    for index, count in enumerate(counts):
        x0, x1 = xs(edges[index]), xs(edges[index + 1])
        hint = f"{x_label(edges[index])} to {x_label(edges[index + 1])}: {count} motion(s)"
        parts.append(svg.rect(x0 + 1, ys(count), x1 - x0 - 2, bottom - ys(count), fill, hint=hint))
    parts.append(svg.x_axis(xs, bottom, svg.nice_ticks(edges[0], edges[-1], 6), x_label))
    for offset, marker in enumerate(markers):
        x = xs(marker.at)
        parts.append(
            svg.line(x, top - 6, x, bottom, marker.stroke, stroke_width=1.5, stroke_dasharray="5 3")
        )
        anchor = "end" if x > (left + right) / 2 else "start"
        nudge = -4 if anchor == "end" else 4
        parts.append(
            svg.text(
                x + nudge,
                top - 10 + offset * 13,
                marker.label,
                anchor=anchor,
                size=11,
                font_weight="600",
            )
        )
    return svg.figure(figure_id, width, height, title, "".join(parts), description=description)


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a line chart: ``values`` align with the chart's x values."""

    label: str
    stroke: str
    values: Sequence[float]
    dash: str | None = None


def share_chart(
    figure_id: str,
    title: str,
    xs_values: Sequence[int],
    series: Sequence[Series],
    *,
    threshold: Marker | None = None,
    width: float = 1180,
    height: float = 380,
    x_title: str = "",
    description: str = "",
) -> str:
    """Lines of 0..1 shares over integer x values; beyond ``threshold`` the area is shaded."""
    left, right, top, bottom = 56.0, width - 24, 40.0, height - 52
    lo, hi = (min(xs_values), max(xs_values)) if xs_values else (0, 1)
    xs = svg.Scale((lo - 0.5, hi + 0.5), (left, right))
    ys = svg.Scale((0, 1), (bottom, top))
    parts = [svg.legend([(s.label, s.stroke) for s in series], left, 18)]
    if threshold is not None:
        x = xs(threshold.at + 0.5)
        parts.append(svg.rect(x, top, right - x, bottom - top, "#fdecea"))
        parts.append(
            svg.text(x + 6, top + 16, "beyond the tolerated threshold", fill="#b42318", size=11)
        )
    parts.append(
        svg.y_axis(ys, left, [0, 0.25, 0.5, 0.75, 1], lambda t: f"{t * 100:.0f}%", grid_to=right)
    )
    parts.append(svg.x_axis(xs, bottom, list(xs_values), lambda t: f"{t:.0f}"))
    if x_title:
        parts.append(
            svg.text((left + right) / 2, height - 12, x_title, anchor="middle", fill=svg.MUTED)
        )
    if threshold is not None:
        x = xs(threshold.at)
        parts.append(
            svg.line(
                x, top - 4, x, bottom, threshold.stroke, stroke_width=2, stroke_dasharray="6 4"
            )
        )
        parts.append(
            svg.text(x - 6, top - 8, threshold.label, anchor="end", size=12, font_weight="700")
        )
    for line_series in series:
        points = [(xs(x), ys(y)) for x, y in zip(xs_values, line_series.values, strict=True)]
        parts.append(
            svg.polyline(
                points, line_series.stroke, stroke_width=2.5, stroke_dasharray=line_series.dash
            )
        )
        for (px, py), x, y in zip(points, xs_values, line_series.values, strict=True):
            hint = f"{line_series.label} with {x}: {y * 100:.0f}%"
            parts.append(
                svg.circle(px, py, 4, line_series.stroke, hint=hint, stroke="#fff", stroke_width=1)
            )
    return svg.figure(figure_id, width, height, title, "".join(parts), description=description)


def tally_bar(
    figure_id: str, segments: Sequence[Segment], total: float, threshold: float | None, title: str
) -> str:
    """A small stacked bar of ``total`` seats with a tick at the ``threshold`` seat count."""
    width, height = 168.0, 16.0
    scale = svg.Scale((0, total or 1), (0, width))
    parts, x = [], 0.0
    for segment in segments:
        end = x + scale(segment.value)
        parts.append(
            svg.rect(
                x,
                2,
                end - x,
                height - 4,
                segment.fill,
                hint=f"{segment.label}: {segment.value:.0f}",
            )
        )
        x = end
    if threshold is not None:
        tx = min(width - 1, scale(threshold))
        parts.append(svg.line(tx, 0, tx, height, svg.INK, stroke_width=2))
    return svg.figure(figure_id, width, height, title, "".join(parts), css_class="tally")
