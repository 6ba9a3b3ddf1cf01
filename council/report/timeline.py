"""The per-agent timeline: one row per seat over virtual time.

Each row is coloured by the view the seat was in, carries a tick for every (sampled) commit and
a grey hatch while the seat was down; faulty seats are labelled in red with their behaviours.
Reading down a column shows whether the council moved views together and where commits stalled.
"""

from __future__ import annotations

from council.report import svg
from council.report.fmt import duration
from council.report.model import AgentTimeline, RunReport, SeatInfo

#: Light fills for views 0, 1, 2, … (cycled); commit ticks in ink stay readable on all of them.
VIEW_FILLS = (
    "#cfe3f7",
    "#fde2b8",
    "#c9ecd9",
    "#f3d1e6",
    "#e4dcf5",
    "#f9d0bf",
    "#f2eeb0",
    "#d5e8e8",
)
FAULTY = "#b42318"
DOWN_PATTERN = "down-hatch"
WIDTH = 1180.0
LEFT = 150.0
RIGHT_GUTTER = 250.0
ROW = 16.0
TOP = 34.0


def timeline_figure(report: RunReport) -> str:
    """The timeline ``<svg>`` for every seat in ``report.timeline``."""
    agents = sorted(report.timeline.agents, key=lambda a: a.seat)
    end_ms = max(1, report.timeline.end_ms)
    right = WIDTH - RIGHT_GUTTER
    xs = svg.Scale((0, end_ms), (LEFT, right))
    bottom = TOP + len(agents) * ROW
    parts = [
        f"<defs>{svg.hatch_pattern(DOWN_PATTERN, '#8c959f', '#eaeef2')}</defs>",
        _legend(agents),
    ]
    ticks = svg.nice_ticks(0, end_ms, 10)
    parts.append(svg.x_axis(xs, bottom + 4, ticks, duration, grid_to=TOP))
    for row, agent in enumerate(agents):
        seat = report.seat(agent.seat) or SeatInfo(seat=agent.seat, constituency="", behaviours=[])
        parts.append(_row(agent, seat, TOP + row * ROW, xs, end_ms))
    parts.append(
        svg.text(WIDTH - RIGHT_GUTTER + 12, TOP - 6, "behaviours", size=11, fill=svg.MUTED)
    )
    parts.append(
        svg.text((LEFT + right) / 2, bottom + 38, "virtual time", anchor="middle", fill=svg.MUTED)
    )
    title = f"Per-agent timeline: views and commits of {len(agents)} seats over {duration(end_ms)}"
    description = (
        "One row per seat. Background colour shows the view the seat is in, black ticks are "
        "commits, grey hatching marks periods the seat was down; faulty seats are in red."
    )
    return svg.figure(
        "timeline", WIDTH, bottom + 48, title, "".join(parts), description=description
    )


def _legend(agents: list[AgentTimeline]) -> str:
    views = sorted({view for agent in agents for _, view in agent.views})
    entries = [(f"view {v}", VIEW_FILLS[v % len(VIEW_FILLS)]) for v in views[:8]]
    if len(views) > 8:
        entries.append((f"… {len(views) - 8} more views", "#ffffff"))
    entries.append(("down", f"url(#{DOWN_PATTERN})"))
    legend = svg.legend(entries, LEFT, 16)
    x = LEFT + sum(16 + svg.text_width(label, 11) + 18 for label, _ in entries)
    commit = svg.line(x + 5, 8, x + 5, 18, svg.INK, stroke_width=1.5) + svg.text(
        x + 14, 16, "commit", size=11
    )
    faulty = svg.text(x + 80, 16, "■ faulty seat", size=11, fill=FAULTY, font_weight="600")
    return legend + commit + faulty


def _row(agent: AgentTimeline, seat: SeatInfo, y: float, xs: svg.Scale, end_ms: int) -> str:
    label_fill = FAULTY if seat.faulty else svg.INK
    weight = "600" if seat.faulty else None
    name = f"{seat.seat}  {seat.constituency}".strip()
    parts = [
        svg.text(
            LEFT - 8,
            y + 12,
            svg.truncate(name, LEFT - 12, 11),
            anchor="end",
            size=11,
            fill=label_fill,
            font_weight=weight,
        )
    ]
    if seat.faulty:
        parts.append(svg.rect(LEFT - 4, y + 1, 3, ROW - 2, FAULTY))
    views = sorted(agent.views)
    for index, (start, view) in enumerate(views):
        until = views[index + 1][0] if index + 1 < len(views) else end_ms
        hint = f"seat {seat.seat}: view {view} from {duration(start)} to {duration(until)}"
        fill = VIEW_FILLS[view % len(VIEW_FILLS)]
        parts.append(svg.rect(xs(start), y + 1, xs(until) - xs(start), ROW - 2, fill, hint=hint))
    for start, until in agent.down:
        hint = f"seat {seat.seat} down from {duration(start)} to {duration(until)}"
        parts.append(
            svg.rect(
                xs(start), y + 1, xs(until) - xs(start), ROW - 2, f"url(#{DOWN_PATTERN})", hint=hint
            )
        )
    if agent.commits:
        # One path per seat keeps the page small: up to ~200 ticks per row, 33 rows.
        ticks = "".join(f"M{xs(t):.1f} {y + 4:.0f}v{ROW - 8:.0f}" for t, _ in agent.commits)
        last = max(seq for _, seq in agent.commits)
        hint = f"seat {seat.seat}: {len(agent.commits)} sampled commits, up to seq {last}"
        parts.append(
            f'<path d="{ticks}" stroke="{svg.INK}" stroke-width="1" stroke-opacity="0.55">'
            f"{svg.tooltip(hint)}</path>"
        )
    if seat.faulty:
        behaviours = ", ".join(seat.behaviours)
        note = svg.truncate(behaviours, RIGHT_GUTTER - 16, 11)
        x = WIDTH - RIGHT_GUTTER + 12
        parts.append(svg.text(x, y + 12, note, size=11, fill=FAULTY, hint=behaviours))
    return "".join(parts)
