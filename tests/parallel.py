"""How the suite runs on two workers, as ``./scripts/test.sh`` runs it (``-n 2 --dist loadfile``).

Units of work are whole modules (as ``--dist loadfile``), so that a module's own servers and
stores (module-scoped fixtures) start once. Modules that share an expensive session fixture (the
CORDIS store, the Virtuoso server) or a package-scoped one (the W3C and security scratch servers)
go to the same worker as one unit: each worker would otherwise build its own. Units are handed
out longest first (estimates below), so that the two workers end at about the same time.

The workers know each test's fixtures, the scheduler (in the controlling process) only its node
id: each worker writes the module -> unit table it computed at collection into a folder the
controller named in its ``workerinput``. (pytest-xdist's own ``xdist_group`` marks cannot carry
it: with pytest 9 they no longer reach the node ids.)

Nothing here decides what a test checks: without ``-n`` the suite runs serially as before.

The default since session 4 (serially the suite took 10 min 8 s on the 2-core machine, with two
workers 5 min 47 s). The two failures the first two-worker runs showed were a server defect (a
lookup process dropped connections it could not hand over at once: fixed in be692dc) and two tests
competing for the remote store (reordered in 1898f72). ``./scripts/test.sh -n 0`` runs serially.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

# session-scoped fixtures too costly to build once per worker -> the unit of every module using them
SHARED_SESSION_FIXTURES = {"cordis_store": "cordis-store", "virtuoso": "virtuoso"}

# seconds per unit, measured (session 4, two workers, --durations=0); used only to order the units
ESTIMATED_S: dict[str, float] = {
    "cordis-store": 256,
    "virtuoso": 124,
    "tests/w3c:scratch": 98,
    "tests/security:server": 62,
    "tests/ops/test_backup.py": 56,
    "tests/test_cli.py": 54,
    "tests/api/test_submissions.py": 42,
    "tests/test_cli_errors.py": 34,
    "tests/api/test_lookup_processes.py": 34,
    "tests/ops/test_backup_online.py": 33,
    "tests/api/test_front_protocol.py": 30,
    "tests/test_reasoning.py": 29,
    "tests/ops/test_restore_online.py": 28,
    "tests/api/test_sparql_protocol.py": 27,
    "tests/faults/test_disk_full.py": 23,
    "tests/api/test_inline_joins.py": 22,
    "tests/faults/test_import_killed.py": 20,
    "tests/store/test_planner.py": 20,
    "tests/api/test_write_provenance.py": 19,
    "tests/ops/test_backup_remote.py": 18,
}
PER_TEST_S = 0.3  # a unit not in the table: by its number of tests

UNITS_KEY = "boostkg_units_dir"


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _groups_of(item: pytest.Item) -> set[str]:
    """The shared fixtures ``item`` uses that bind its module to other modules' worker."""
    groups: set[str] = set()
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return groups
    for name, defs in info.name2fixturedefs.items():
        if name in SHARED_SESSION_FIXTURES:
            groups.add(SHARED_SESSION_FIXTURES[name])
        elif defs and defs[-1].scope == "package":
            groups.add(f"{defs[-1].baseid or '.'}:{name}")
    # a backend named by a parameter and fetched with request.getfixturevalue (tests/store)
    callspec = getattr(item, "callspec", None)
    for value in callspec.params.values() if callspec is not None else ():
        if isinstance(value, str) and value in SHARED_SESSION_FIXTURES:
            groups.add(SHARED_SESSION_FIXTURES[value])
    return groups


def units(items: list[pytest.Item]) -> dict[str, str]:
    """Module -> unit: the module itself, or one label for all the modules connected through
    shared fixtures (a small union-find over the labels)."""
    parent: dict[str, str] = {}

    def find(label: str) -> str:
        while parent.setdefault(label, label) != label:
            label = parent[label]
        return label

    modules: dict[str, set[str]] = defaultdict(set)
    for item in items:
        modules[_module(item.nodeid)] |= _groups_of(item)
    for labels in modules.values():
        if not labels:
            continue
        first, *rest = sorted(labels)
        for label in rest:
            parent[find(label)] = find(first)
    return {
        module: min(find(label) for label in labels) if labels else module
        for module, labels in modules.items()
    }


def configure_node(node: Any) -> None:
    """Controller: name the folder where this worker leaves its unit table."""
    folder = getattr(node.config, "_boostkg_units_dir", None)
    if folder is None:
        folder = tempfile.mkdtemp(prefix="pytest-units-")
        node.config._boostkg_units_dir = folder
    node.workerinput[UNITS_KEY] = folder


def remove_units(config: pytest.Config) -> None:
    """Controller, at the end: remove the folder of unit tables."""
    folder = getattr(config, "_boostkg_units_dir", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def write_units(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Worker: leave the module -> unit table for the controller's scheduler."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or UNITS_KEY not in workerinput:
        return
    target = Path(workerinput[UNITS_KEY]) / f"{workerinput['workerid']}.json"
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(units(items)), encoding="utf-8")
    os.replace(partial, target)


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """A loadfile-like scheduler whose units are modules or groups, handed out longest first."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ModuleUnits(LoadScopeScheduling):  # type: ignore[misc]
        table: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.table is None:  # read once, after every worker finished collecting
                folder = Path(getattr(config, "_boostkg_units_dir", ""))
                tables = sorted(folder.glob("*.json")) if folder.name else []
                self.table = json.loads(tables[0].read_text(encoding="utf-8")) if tables else {}
            module = _module(nodeid)
            return self.table.get(module, module)

        def _assign_work_unit(self, node: Any) -> None:
            def cost(scope: str) -> float:
                return ESTIMATED_S.get(scope, PER_TEST_S * len(self.workqueue[scope]))

            longest = max(self.workqueue, key=cost)
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    return ModuleUnits(config, log)
