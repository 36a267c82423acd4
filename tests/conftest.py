"""Shared fixtures: settings -> store -> loaded store; the real reference data beside the clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from boostkg.config import PROJECT_ROOT, Settings
from boostkg.ingest.bootstrap import BootstrapReport, bootstrap
from boostkg.store import EmbeddedStore, open_store
from tests import parallel

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    parallel.write_units(config, items)  # a worker of ``pytest -n N``: see tests/parallel.py


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    parallel.configure_node(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadfile``, with modules sharing a costly fixture as one unit, longest first."""
    return parallel.make_scheduler(config, log) if config.getoption("dist") == "loadfile" else None


def pytest_unconfigure(config: pytest.Config) -> None:
    parallel.remove_units(config)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: fails under CI when missing, skips (saying what is missing) elsewhere."""
    if (SHARED_DATA / "README.md").is_file():
        return SHARED_DATA
    message = (
        f"the real reference data is missing: expected {SHARED_DATA} (a checkout of shared/ beside the clone)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class MainLoaded:
    """What ``boostkg main --no-serve`` left in ``base``: the store, and what it printed."""

    base: Path
    store: Path
    output: str


def _boostkg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``boostkg`` (no inherited BOOSTKG_ settings) and require exit 0."""
    boostkg = Path(sys.executable).with_name("boostkg")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="250", NO_COLOR="1", TERM="dumb")
    done = subprocess.run(
        [str(boostkg), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"boostkg {' '.join(args)} -> {done.returncode}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def main_loaded(tmp_path_factory: pytest.TempPathFactory) -> MainLoaded:
    """``boostkg main --no-serve`` run once per session by the real command line in a fresh folder
    (``base``; its load report is base/reports/load-report.html). Shared: tests must not write to
    ``store`` (copy it first; a server needs its own copy too, the store is locked while open)."""
    base = tmp_path_factory.mktemp("main")
    store = base / "store"
    done = _boostkg("main", "--no-serve", "--store", str(store), cwd=base)
    return MainLoaded(base, store, done.stdout)


@pytest.fixture(scope="session")
def cordis_store(
    shared_data: Path, main_loaded: MainLoaded, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A store after ``boostkg main --no-serve``, ``import cordis`` and ``infer``, built once per
    session by the real command line (~1 min; main's store is copied from ``main_loaded``) and
    shared: tests must not write to it (copy it)."""
    base = tmp_path_factory.mktemp("cordis")
    store = base / "store"
    shutil.copytree(main_loaded.store, store)
    _boostkg("import", "cordis", str(shared_data / "cordis-h2020"), "--store", str(store), cwd=base)
    _boostkg("infer", "--store", str(store), cwd=base)
    return store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh store and report folder under the test's tmp_path."""
    return Settings(store=tmp_path / "store", reports_dir=tmp_path / "reports")


@pytest.fixture
def store(settings: Settings) -> Iterator[EmbeddedStore]:
    """An empty on-disk store."""
    kg = open_store(settings.store)
    yield kg
    kg.close()


@pytest.fixture(scope="session")
def loaded_store_and_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedStore, BootstrapReport]]:
    """A real on-disk store after the main job's loading: ontology, vocabularies, NUTS, EIS, seed,
    inferences. Shared by the session: tests must not write to it."""
    path = tmp_path_factory.mktemp("loaded") / "store"
    defaults = Settings()
    kg = open_store(path)
    report = bootstrap(kg, ontology_dir=defaults.ontology_dir, data_dir=defaults.data_dir)
    yield kg, report
    kg.close()


@pytest.fixture(scope="session")
def loaded_store(loaded_store_and_report: tuple[EmbeddedStore, BootstrapReport]) -> EmbeddedStore:
    """The loaded store alone (read-only use)."""
    return loaded_store_and_report[0]
