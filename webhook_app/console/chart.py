"""A small inline SVG of the last hour: ML calls per minute (429s in red) and pushes sent."""

from markupsafe import Markup

from connector_core.domain.console import MinuteCounts

WIDTH, HEIGHT, PAD = 720, 160, 24


def minutes_chart(minutes: list[MinuteCounts]) -> Markup:
    if not minutes:
        return Markup("")
    top = max([1, *(m.calls for m in minutes), *(m.pushes for m in minutes)])
    step = (WIDTH - 2 * PAD) / len(minutes)
    bar = max(step - 2, 1)
    scale = (HEIGHT - 2 * PAD) / top
    base = HEIGHT - PAD
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
             "<title>ML calls, 429s and pushes per minute, last hour</title>",
             f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#999"/>',
             f'<text x="{PAD}" y="{PAD - 8}" font-size="11">{top} per minute</text>']
    points = []
    for i, m in enumerate(minutes):
        x = PAD + i * step
        label = (f"{m.minute:%H:%M} UTC: {m.calls} calls, {m.throttled} answered 429, "
                 f"{m.pushes} pushes")
        height = m.calls * scale
        parts.append(f'<g><title>{label}</title>'
                     f'<rect x="{x:.1f}" y="{base - height:.1f}" width="{bar:.1f}" '
                     f'height="{height:.1f}" fill="#8ab4e8"/>')
        if m.throttled:
            red = m.throttled * scale
            parts.append(f'<rect x="{x:.1f}" y="{base - red:.1f}" width="{bar:.1f}" '
                         f'height="{red:.1f}" fill="#d33"/>')
        parts.append("</g>")
        points.append(f"{x + bar / 2:.1f},{base - m.pushes * scale:.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#1a7f37" '
                 f'stroke-width="2"/>')
    first, last = minutes[0].minute, minutes[-1].minute
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="11">{first:%H:%M}</text>')
    parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="11" '
                 f'text-anchor="end">{last:%H:%M} UTC</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
