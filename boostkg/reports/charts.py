"""Small, dependency-free SVG charts for HTML reports.

>>> svg = horizontal_bars([("a", 3), ("b", 1)], width=200)
>>> svg.startswith("<svg") and svg.count("<rect") == 2
True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def horizontal_bars(
    items: Sequence[tuple[str, float]], *, width: int = 720, bar_height: int = 18, label_width: int = 260
) -> str:
    """A horizontal bar chart (label, value) as inline SVG, values printed beside the bars."""
    if not items:
        return "<p>(nothing to show)</p>"
    top = max(value for _, value in items) or 1.0
    plot = width - label_width - 80
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * (bar_height + 6)
        length = max(1.0, plot * value / top)
        short = label if len(label) <= 40 else "…" + label[-39:]
        rows.append(
            f'<text x="{label_width - 6}" y="{y + bar_height - 4}" text-anchor="end" '
            f'font-size="12">{escape(short)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="#2f6db5">'
            f"<title>{escape(label)}: {value:,.0f}</title></rect>"
            f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height - 4}" font-size="12">'
            f"{value:,.0f}</text>"
        )
    height = len(items) * (bar_height + 6)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" font-family="sans-serif">{"".join(rows)}</svg>'
    )


PALETTE = ("#2f6db5", "#d9480f", "#2e8540", "#7048e8", "#e8a200", "#0b7285", "#c2255c", "#5c940d")


def component_bars(
    rows: Sequence[tuple[str, Sequence[tuple[str, float]]]], *, width: int = 860, label_width: int = 330
) -> str:
    """Stacked horizontal bars: each row's score split into its named components (negative ones are
    left out of the bar; the total printed beside it is the sum of all).

    >>> svg = component_bars([("a → b", [("x", 0.5), ("y", 0.25)]), ("c → d", [("x", 0.1), ("y", 0.0)])])
    >>> svg.count("<rect") >= 3 and "legend" in svg
    True
    """
    if not rows:
        return "<p>(nothing to show)</p>"
    names = list(dict.fromkeys(name for _, parts in rows for name, _ in parts))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    top = max(sum(max(v, 0.0) for _, v in parts) for _, parts in rows) or 1.0
    plot = width - label_width - 60
    bar, gap, legend_h = 16, 6, 22
    out = []
    for i, name in enumerate(names):
        lx = 4 + i * 150
        out.append(
            f'<rect x="{lx}" y="2" width="12" height="12" fill="{colour[name]}"/>'
            f'<text x="{lx + 16}" y="12" font-size="12">{escape(name)}</text>'
        )
    for i, (label, parts) in enumerate(rows):
        y = legend_h + i * (bar + gap)
        short = label if len(label) <= 40 else label[:39] + "…"
        out.append(
            f'<text x="{label_width - 6}" y="{y + bar - 4}" text-anchor="end" font-size="12">{escape(short)}'
            f"<title>{escape(label)}</title></text>"
        )
        x = float(label_width)
        for name, value in parts:
            length = plot * max(value, 0.0) / top
            if length <= 0:
                continue
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour[name]}">'
                f"<title>{escape(name)}: {value:.3f}</title></rect>"
            )
            x += length
        total = sum(v for _, v in parts)
        out.append(f'<text x="{x + 4:.1f}" y="{y + bar - 4}" font-size="12">{total:.3f}</text>')
    height = legend_h + len(rows) * (bar + gap)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" font-family="sans-serif" class="legend">{"".join(out)}</svg>'
    )


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    width: int = 720,
    label_width: int = 200,
    highlight: str | None = None,
) -> str:
    """Horizontal bars grouped by metric: ``[(metric, [(method, value), ...]), ...]``; values in [0, 1]
    printed with three decimals; ``highlight`` names the series drawn in the accent colour.

    >>> svg = grouped_bars([("hits@10", [("method", 0.4), ("random", 0.01)])], highlight="method")
    >>> svg.count("<rect") == 2 and "0.400" in svg
    True
    """
    if not groups:
        return "<p>(nothing to show)</p>"
    top = max((v for _, series in groups for _, v in series), default=0.0) or 1.0
    plot = width - label_width - 60
    bar, gap, head = 14, 3, 20
    out = []
    y = 0
    for metric, series in groups:
        out.append(f'<text x="0" y="{y + 14}" font-size="13" font-weight="bold">{escape(metric)}</text>')
        y += head
        for name, value in series:
            length = max(1.0, plot * value / top)
            fill = PALETTE[1] if name == highlight else PALETTE[0]
            out.append(
                f'<text x="{label_width - 6}" y="{y + bar - 3}" text-anchor="end" font-size="12">'
                f"{escape(name)}</text>"
                f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" fill="{fill}">'
                f"<title>{escape(name)}: {value:.3f}</title></rect>"
                f'<text x="{label_width + length + 4:.1f}" y="{y + bar - 3}" font-size="12">'
                f"{value:.3f}</text>"
            )
            y += bar + gap
        y += 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {y}" width="{width}" '
        f'role="img" font-family="sans-serif">{"".join(out)}</svg>'
    )
