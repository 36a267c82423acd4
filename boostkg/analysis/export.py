"""Match results as plain documents: a JSON-ready dict and CSV rows (shared by the CLI and the API)."""

from __future__ import annotations

import csv
import io
from typing import Any

from boostkg.analysis.matching import Candidate, MatchResult
from boostkg.analysis.methods import COMPONENTS

EVIDENCE_KEYS = ("shared_partners", "projects", "themes", "capabilities")


def _actor(iri: str, identifier: str, label: str, region: str, kind: str) -> dict[str, str]:
    return {"iri": iri, "identifier": identifier, "label": label, "region": region, "kind": kind}


def candidate_document(c: Candidate) -> dict[str, Any]:
    """One candidate: both actors (IRI, ``identifier`` = PIC, label, region, kind), rank, score,
    components, explanation and evidence IRIs."""
    return {
        "rank": c.rank,
        "source": _actor(c.source, c.source_identifier, c.source_label, c.source_region, c.source_kind),
        "target": _actor(c.target, c.target_identifier, c.target_label, c.target_region, c.target_kind),
        "score": c.score,
        "components": c.components,
        "explanation": c.explanation,
        "evidence": c.evidence,
        "source_is_newcomer": c.newcomer,
    }


def result_document(result: MatchResult, *, run: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole result: corridor, parameters, data years, the saved run (if any), candidates."""
    corridor = result.corridor
    return {
        "corridor": {
            "from": list(corridor.sources),
            "to": list(corridor.targets),
            "themes": list(corridor.themes),
            "actor_types": list(corridor.actor_types),
            "description": corridor.describe(),
        },
        "parameters": result.parameters,
        "data_years": list(result.data_years),
        "source_actors": result.source_actors,
        "target_actors": result.target_actors,
        "generated": result.generated.isoformat(),
        "run": run,
        "candidates": [candidate_document(c) for c in result.candidates],
    }


CSV_COLUMNS = (
    "rank",
    "source",
    "source_identifier",
    "source_label",
    "source_region",
    "target",
    "target_identifier",
    "target_label",
    "target_region",
    "score",
    *COMPONENTS,
    "explanation",
    *EVIDENCE_KEYS,
)


def result_csv(result: MatchResult) -> str:
    """CSV with one row per candidate; evidence lists are space-separated IRIs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in result.candidates:
        writer.writerow(
            [
                c.rank,
                c.source,
                c.source_identifier,
                c.source_label,
                c.source_region,
                c.target,
                c.target_identifier,
                c.target_label,
                c.target_region,
                c.score,
                *(c.components.get(name, 0.0) for name in COMPONENTS),
                c.explanation,
                *(" ".join(c.evidence.get(key, [])) for key in EVIDENCE_KEYS),
            ]
        )
    return buffer.getvalue()
