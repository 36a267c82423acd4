"""The units of work of the two-worker run (tests/parallel.py): modules, or groups of modules that
share a costly fixture, connected transitively."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from tests.parallel import units


@dataclass
class _Def:
    scope: str
    baseid: str = ""


@dataclass
class _Info:
    name2fixturedefs: dict[str, list[_Def]]


@dataclass
class _Callspec:
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class _Item:
    nodeid: str
    _fixtureinfo: _Info
    callspec: _Callspec | None = None


def _item(nodeid: str, *fixtures: tuple[str, str, str], params: dict[str, object] | None = None) -> Any:
    defs = {name: [_Def(scope, baseid)] for name, scope, baseid in fixtures}
    return _Item(nodeid, _Info(defs), _Callspec(params) if params is not None else None)


def test_modules_sharing_costly_fixtures_are_one_unit_and_the_others_their_own() -> None:
    cordis = ("cordis_store", "session", "")
    virtuoso = ("virtuoso", "session", "tests/store")
    tmp = ("tmp_path", "function", "")
    items = [
        _item("tests/a/test_one.py::test_x", cordis, tmp),
        _item("tests/a/test_one.py::test_y", tmp),  # same module: same unit as test_x
        _item("tests/b/test_two.py::test_z[virtuoso]", virtuoso),
        _item("tests/b/test_two.py::test_z[oxigraph]", ("oxigraph", "session", "tests/store")),
        _item("tests/c/test_three.py::test_w", cordis, virtuoso),  # binds the two groups together
        _item("tests/store/test_four.py::test_v[virtuoso]", params={"backend": "virtuoso"}),  # by name
        _item("tests/w3c/test_five.py::test_u", ("scratch", "package", "tests/w3c")),
        _item("tests/w3c/test_six.py::test_t", ("scratch", "package", "tests/w3c")),
        _item("tests/test_seven.py::test_s", tmp, params={"backend": "embedded"}),
        _item("boostkg/x.py::boostkg.x.f"),
    ]
    table = units(cast(list[pytest.Item], items))
    together = {table[m] for m in ("tests/a/test_one.py", "tests/b/test_two.py", "tests/c/test_three.py")}
    assert len(together) == 1
    assert table["tests/store/test_four.py"] in together
    assert table["tests/w3c/test_five.py"] == table["tests/w3c/test_six.py"] not in together
    assert table["tests/test_seven.py"] == "tests/test_seven.py"
    assert table["boostkg/x.py"] == "boostkg/x.py"
    assert len(set(table.values())) == 4
