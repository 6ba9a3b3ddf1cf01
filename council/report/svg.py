"""Inline-SVG primitives shared by the run and sweep pages: elements, scales, axes, legends.

Every function returns SVG markup as a string, and every piece of text goes through
:func:`html.escape` here, so callers pass raw strings (seat names, motion titles) and never
escape twice. A figure is ``role="img"`` with a ``<title>`` and ``aria-labelledby`` so screen
readers announce what the plot shows; its ``viewBox`` lets CSS scale it to the page width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

#: Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
CATEGORICAL = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#882255")
INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d8dee4"
FONT_PX = 12


def _num(value: float) -> str:
    # Two decimals is sub-pixel at any sensible zoom and keeps the markup short.
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _attrs(attributes: dict[str, str | float | None]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        rendered = _num(value) if isinstance(value, float | int) else escape(value)
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{rendered}"')
    return "".join(parts)


def tooltip(text: str | None) -> str:
    """A ``<title>`` child: the browser shows it on hover."""
    return "" if text is None else f"<title>{escape(text)}</title>"


def rect(
    x: float,
    y: float,
    width: float,
    height: float,
    fill: str,
    *,
    hint: str | None = None,
    **extra: str | float | None,
) -> str:
    geometry = _attrs({"x": x, "y": y, "width": max(0.0, width), "height": max(0.0, height)})
    if hint is None:
        return f"<rect{geometry}{_attrs({'fill': fill, **extra})}/>"
    return f"<rect{geometry}{_attrs({'fill': fill, **extra})}>{tooltip(hint)}</rect>"


def line(
    x1: float, y1: float, x2: float, y2: float, stroke: str, **extra: str | float | None
) -> str:
    return f"<line{_attrs({'x1': x1, 'y1': y1, 'x2': x2, 'y2': y2, 'stroke': stroke, **extra})}/>"


def text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: float = FONT_PX,
    fill: str = INK,
    hint: str | None = None,
    **extra: str | float | None,
) -> str:
    attributes = {"x": x, "y": y, "text_anchor": anchor, "font_size": size, "fill": fill, **extra}
    return f"<text{_attrs(attributes)}>{escape(content)}{tooltip(hint)}</text>"


def circle(
    cx: float,
    cy: float,
    r: float,
    fill: str,
    *,
    hint: str | None = None,
    **extra: str | float | None,
) -> str:
    attributes = _attrs({"cx": cx, "cy": cy, "r": r, "fill": fill, **extra})
    return f"<circle{attributes}>{tooltip(hint)}</circle>"


def polyline(
    points: Sequence[tuple[float, float]], stroke: str, **extra: str | float | None
) -> str:
    coordinates = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    return (
        f'<polyline points="{coordinates}"{_attrs({"stroke": stroke, "fill": "none", **extra})}/>'
    )


def hatch_pattern(pattern_id: str, stroke: str, background: str = "none") -> str:
    """A diagonal-hatch ``<pattern>`` for ``<defs>``; fill with ``url(#pattern_id)``."""
    return (
        f'<pattern id="{escape(pattern_id)}" width="6" height="6" patternUnits="userSpaceOnUse"'
        f' patternTransform="rotate(45)">{rect(0, 0, 6, 6, background)}'
        f"{line(0, 0, 0, 6, stroke, stroke_width=2.5)}</pattern>"
    )


def figure(
    figure_id: str,
    width: float,
    height: float,
    title: str,
    body: str,
    *,
    description: str = "",
    css_class: str = "plot",
) -> str:
    """An accessible, width-scalable ``<svg>`` whose first child is its ``<title>``."""
    ident = escape(figure_id)
    described = f'<desc id="{ident}-desc">{escape(description)}</desc>' if description else ""
    labelled = f"{ident}-title" + (f" {ident}-desc" if description else "")
    return (
        f'<svg id="{ident}" class="{escape(css_class)}" role="img" aria-labelledby="{labelled}"'
        f' viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" height="{_num(height)}"'
        f' font-family="inherit">'
        f'<title id="{ident}-title">{escape(title)}</title>{described}{body}</svg>'
    )


@dataclass(frozen=True, slots=True)
class Scale:
    """A linear map from a data ``domain`` to pixel ``span`` (either may run backwards)."""

    domain: tuple[float, float]
    span: tuple[float, float]

    def __call__(self, value: float) -> float:
        (d0, d1), (r0, r1) = self.domain, self.span
        if d1 == d0:
            return r0
        return r0 + (value - d0) * (r1 - r0) / (d1 - d0)


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) covering ``[low, high]``."""
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def x_axis(
    scale: Scale,
    y: float,
    ticks: Sequence[float],
    label: Callable[[float], str],
    *,
    grid_to: float | None = None,
) -> str:
    """Tick marks and labels below ``y``; with ``grid_to`` also light grid lines up to that y."""
    parts = [line(scale.span[0], y, scale.span[1], y, MUTED)]
    for tick in ticks:
        x = scale(tick)
        if grid_to is not None:
            parts.append(line(x, grid_to, x, y, GRID, stroke_dasharray="2 3"))
        parts.append(line(x, y, x, y + 4, MUTED))
        parts.append(text(x, y + 16, label(tick), anchor="middle", size=11, fill=MUTED))
    return "".join(parts)


def y_axis(
    scale: Scale,
    x: float,
    ticks: Sequence[float],
    label: Callable[[float], str],
    *,
    grid_to: float | None = None,
) -> str:
    """Tick labels left of ``x``; with ``grid_to`` also light grid lines across to that x."""
    parts = [line(x, scale.span[0], x, scale.span[1], MUTED)]
    for tick in ticks:
        y = scale(tick)
        if grid_to is not None:
            parts.append(line(x, y, grid_to, y, GRID))
        parts.append(text(x - 6, y + 4, label(tick), anchor="end", size=11, fill=MUTED))
    return "".join(parts)


def legend(entries: Sequence[tuple[str, str]], x: float, y: float, *, gap: float = 18) -> str:
    """A one-line legend of ``(label, fill)`` swatches starting at ``(x, y)``."""
    parts = []
    for label, fill in entries:
        parts.append(rect(x, y - 9, 11, 11, fill, rx=2, stroke=MUTED, stroke_width=0.5))
        parts.append(text(x + 16, y, label, size=11))
        x += 16 + text_width(label, 11) + gap
    return "".join(parts)


def text_width(content: str, size: float = FONT_PX) -> float:
    """An estimate of rendered width (sans-serif averages ~0.58 em per character)."""
    return len(content) * size * 0.58


def truncate(content: str, width: float, size: float = FONT_PX) -> str:
    """``content`` cut with an ellipsis to fit ``width`` pixels at ``size``."""
    fits = int(width / (size * 0.58))
    return content if len(content) <= fits else content[: max(1, fits - 1)] + "…"
