"""``/reports`` through the real server (``boostkg serve`` on the seed graph): the form, the
report as HTML and JSON, and problem details for bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Served, served  # noqa: F401  (the server fixture, reused)

pytestmark = pytest.mark.subprocess

BOOST = {"from": "DK03,EE00", "to": "RO11,BG33,ES51"}


def test_form_then_report_as_html_and_json(served: Served) -> None:  # noqa: F811
    form = httpx.get(served.url + "/reports", timeout=60)
    assert form.status_code == 200
    assert '<form method="get" action="/reports">' in form.text
    page = httpx.get(served.url + "/reports", params=BOOST, timeout=120)
    assert page.status_code == 200
    assert "<h1>Corridor report DK03,EE00 → RO11,BG33,ES51</h1>" in page.text
    assert 'href="/id/organisation/tit"' in page.text  # links open the server's own pages
    data = httpx.get(served.url + "/reports", params={**BOOST, "format": "json"}, timeout=120).json()
    assert [p["code"] for p in data["target"]] == ["RO11", "BG33", "ES51"]
    assert data["matching"] is True
    cells = {(c["region"], c["helix"], c["theme"]): c["actors"] for c in data["coverage"]["cells"]}
    assert cells[("RO11", "Government", "all")] == 1  # the North-West Regional Development Agency
    assert {i["label"] for s in data["summaries"] for i in s["instruments"]} >= {
        "Interreg Europe",
        "Interregional Innovation Investments (I3)",
    }


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"from": "DK,XX", "to": "RO"}, 422, "unknown code on the source side: XX"),
        ({"from": "DK", "to": "RO", "theme": "space"}, 422, "unknown theme 'space'"),
        ({"from": "DK", "to": ","}, 400, "the target side of the corridor is empty"),
        ({"from": "MT", "to": "RO11"}, 400, "no actors are located in MT"),
    ],
)
def test_bad_input_is_a_problem_not_a_report(
    served: Served,  # noqa: F811
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    answer = httpx.get(served.url + "/reports", params=params, timeout=120)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert words in answer.json()["detail"]
