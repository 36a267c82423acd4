"""The picture of a theme's corridor as inline SVG: source side left, target side right, existing ties
grey (thicker for more shared projects), candidate ties highlighted.

>>> from boostkg.reports.corridor_model import NetworkEdge, NetworkNode, ThemeNetwork, ThemeRef
>>> theme = ThemeRef("ict-digital", "ICT", "t", "t")
>>> nodes = (NetworkNode("a", "A", "source", "DK", 3, "/a"), NetworkNode("b", "B", "target", "RO", 1, "/b"))
>>> svg = corridor_svg(ThemeNetwork(theme, nodes, (NetworkEdge("a", "b", "candidate", 0.5),), 0, 1, 1))
>>> svg.startswith("<svg") and svg.count("<circle") == 2 and 'class="candidate"' in svg
True
"""

from __future__ import annotations

import math
from html import escape

from boostkg.reports.corridor_model import NetworkNode, ThemeNetwork

WIDTH = 960
ROW = 24
TOP = 64
SOURCE_X = 330
TARGET_X = 630
SOURCE_COLOUR = "#2f6db5"
TARGET_COLOUR = "#2e8540"
EXISTING_COLOUR = "#9aa5b1"
CANDIDATE_COLOUR = "#d9480f"


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _radius(projects: int) -> float:
    return min(13.0, 4.0 + math.sqrt(max(projects, 0)) * 0.9)


def _ordered(nodes: tuple[NetworkNode, ...], side: str) -> list[NetworkNode]:
    return sorted((n for n in nodes if n.side == side), key=lambda n: (n.region, -n.projects, n.label))


def corridor_svg(network: ThemeNetwork) -> str:
    """The SVG of ``network`` (no scripts, no external references; links open the actors' pages)."""
    if not network.nodes:
        return "<p class='empty'>No actor of this theme to draw on either side.</p>"
    left, right = _ordered(network.nodes, "source"), _ordered(network.nodes, "target")
    position: dict[str, tuple[float, float]] = {}
    for column, column_x in ((left, SOURCE_X), (right, TARGET_X)):
        offset = (max(len(left), len(right)) - len(column)) * ROW / 2
        for i, node in enumerate(column):
            position[node.iri] = (float(column_x), TOP + offset + i * ROW)
    height = TOP + max(len(left), len(right)) * ROW + 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" font-family="system-ui, sans-serif" font-size="12" class="network">',
        f"<title>Corridor network, {escape(network.theme.label)}</title>",
        f'<text x="{SOURCE_X}" y="18" text-anchor="middle" font-weight="bold" fill="{SOURCE_COLOUR}">'
        "Source side (leaders)</text>",
        f'<text x="{TARGET_X}" y="18" text-anchor="middle" font-weight="bold" fill="{TARGET_COLOUR}">'
        "Target side (catch-up)</text>",
        f'<line x1="{SOURCE_X - 60}" y1="36" x2="{SOURCE_X - 30}" y2="36" stroke="{EXISTING_COLOUR}" '
        'stroke-width="2"/>'
        f'<text x="{SOURCE_X - 24}" y="40">existing tie (shared projects)</text>'
        f'<line x1="{TARGET_X - 40}" y1="36" x2="{TARGET_X - 10}" y2="36" stroke="{CANDIDATE_COLOUR}" '
        'stroke-width="3" stroke-dasharray="7 3"/>'
        f'<text x="{TARGET_X - 4}" y="40">candidate tie (ranked)</text>',
    ]
    for edge in sorted(network.edges, key=lambda e: e.kind != "existing"):
        if edge.source not in position or edge.target not in position:
            continue
        (x1, y1), (x2, y2) = position[edge.source], position[edge.target]
        if edge.kind == "existing":
            width = 1 + math.log2(max(edge.weight, 1.0))
            parts.append(
                f'<line class="existing" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{EXISTING_COLOUR}" '
                f'stroke-opacity="0.55" stroke-width="{width:.1f}"><title>{edge.weight:.0f} shared '
                "projects</title></line>"
            )
        else:
            parts.append(
                f'<line class="candidate" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
                f'stroke="{CANDIDATE_COLOUR}" '
                f'stroke-width="3" stroke-dasharray="7 3"><title>candidate, score {edge.weight:.3f}'
                "</title></line>"
            )
    for node in (*left, *right):
        x, y = position[node.iri]
        colour = SOURCE_COLOUR if node.side == "source" else TARGET_COLOUR
        anchor, dx = ("end", -16) if node.side == "source" else ("start", 16)
        label = f"{_short(node.label)} · {node.region}" if node.region else _short(node.label)
        parts.append(
            f'<a href="{escape(node.url)}"><circle cx="{x}" cy="{y}" r="{_radius(node.projects):.1f}" '
            f'fill="{colour}" fill-opacity="0.85"><title>{escape(node.label)} ({node.region}), '
            f"{node.projects} projects</title></circle>"
            f'<text x="{x + dx}" y="{y + 4}" text-anchor="{anchor}">{escape(label)}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
