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
