"""The importers by command-line name."""

from __future__ import annotations

from collections.abc import Callable

from boostkg.errors import InputError
from boostkg.importers.base import Importer


def _nuts() -> Importer:
    from boostkg.importers.nuts import NutsImporter

    return NutsImporter()


def _eis() -> Importer:
    from boostkg.importers.eis import EisImporter

    return EisImporter()


def _cordis() -> Importer:
    from boostkg.importers.cordis import CordisH2020Importer

    return CordisH2020Importer()


def _cordis_organisations() -> Importer:
    from boostkg.importers.cordis_organisations import CordisOrganisationsImporter

    return CordisOrganisationsImporter()


_FACTORIES: dict[str, Callable[[], Importer]] = {
    "nuts": _nuts,
    "eis": _eis,
    "cordis": _cordis,
    "cordis-organisations": _cordis_organisations,
}
IMPORTER_NAMES = tuple(_FACTORIES)
IMPORTER_HELP = {
    "nuts": "Import Eurostat's NUTS 2024 regions (nuts2024.csv) into graph/nuts-2024.",
    "eis": "Import the European Innovation Scoreboard's dated country groups into graph/eis.",
    "cordis": "Import the Horizon 2020 participations and programme parts (a directory or the "
    "participations file) into graph/cordis-h2020.",
    "cordis-organisations": "Import CORDIS's official organization.csv (';' or ',' separated) into "
    "graph/cordis-organisations.",
}


def get_importer(name: str) -> Importer:
    """The importer called ``name`` on the command line.

    Raises:
        InputError: no importer has that name.
    """
    try:
        return _FACTORIES[name]()
    except KeyError:
        raise InputError(f"unknown importer {name!r}; use one of {', '.join(IMPORTER_NAMES)}") from None
