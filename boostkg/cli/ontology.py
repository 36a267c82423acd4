"""Commands about the ontology itself: reason (consistency with HermiT) and docs (pyLODE)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from boostkg.cli.session import out
from boostkg.config import Settings
from boostkg.ingest.bootstrap import ONTOLOGY_FILES
from boostkg.ontology_docs import generate_docs
from boostkg.reasoning.owl import check_consistency


def reason(
    with_data: Annotated[
        bool, typer.Option("--with-data/--ontology-only", help="Include data/*.ttl (seed, NUTS, EIS).")
    ] = True,
) -> None:
    """Check with HermiT (Java) that the ontology (and the shipped data) is consistent."""
    settings = Settings()
    paths = [settings.ontology_dir / name for name, _ in ONTOLOGY_FILES]
    if with_data:
        paths += sorted(settings.data_dir.glob("*.ttl"))
    out.print(f"reasoning with HermiT over {len(paths)} files ...")
    result = check_consistency([p for p in paths if p.exists()])
    out.print(
        f"consistent; {len(result.class_assertions):,} class and "
        f"{len(result.property_assertions):,} property assertions entailed"
    )


def docs(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder (default docs/ontology).")] = None,
) -> None:
    """Generate the ontology's HTML documentation (pyLODE)."""
    settings = Settings()
    target = out_dir or settings.ontology_dir.parent / "docs" / "ontology"
    page = generate_docs(settings.ontology_dir / "icf.ttl", target)
    out.print(f"wrote {page}")
