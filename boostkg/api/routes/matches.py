"""``GET /matches``: ranked, scored, explained candidate partnerships for a corridor (JSON or CSV).

The same options as ``boostkg match``. Bad input (unknown codes or themes, an empty side, a
corridor without actors) becomes a 400/422 problem through :mod:`boostkg.api.problems`. A run is
written back into ``graph/matching/<run-id>`` only with ``record=true`` (a GET should not write
by default); the response then names the run and its graph.

The store's projection and the history learnt from it are kept between requests while the store
is unchanged (its ``generation`` moves on every write), so a second corridor costs the ranking
only, not another read of the whole graph.
"""

from __future__ import annotations

import enum
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from boostkg.analysis.corridor import Corridor
from boostkg.analysis.export import result_csv, result_document
from boostkg.analysis.matching import MatchResult, Per, match
from boostkg.analysis.methods import History, learn
from boostkg.analysis.projection import project
from boostkg.analysis.results import save_run
from boostkg.api.admin import write_state
from boostkg.api.deps import StoreDep
from boostkg.store import EmbeddedStore

router = APIRouter()

_learnt: dict[str, tuple[EmbeddedStore, int, History]] = {}
_learnt_lock = threading.Lock()


def _history(store: EmbeddedStore) -> History:
    """The history of the store's whole projection, learnt once per store generation."""
    with _learnt_lock:
        found = _learnt.get("last")
        if found is not None and found[0] is store and found[1] == store.generation:
            return found[2]
        generation = store.generation
        projection = project(store)
        years = projection.project_years[projection.project_years > 0]
        history = learn(projection, until=int(years.max()) if years.size else 0)
        _learnt["last"] = (store, generation, history)
        return history


def _match(store: EmbeddedStore, corridor: Corridor, top: int, per: Per) -> MatchResult:
    history = _history(store)
    return match(store, corridor, top=top, per=per, projection=history.projection, history=history)


class MatchFormat(enum.Enum):
    """Representations of ``/matches``."""

    json = "json"
    csv = "csv"


@router.get("/matches", response_model=None)
async def matches(
    request: Request,
    store: StoreDep,
    from_: Annotated[str, Query(alias="from", description="Source side: country or NUTS codes, e.g. DK,EE.")],
    to: Annotated[str, Query(description="Target side: country or NUTS codes, e.g. RO,BG,ES.")],
    theme: Annotated[list[str] | None, Query(description="Theme slug, programme part or IRI.")] = None,
    actor_type: Annotated[list[str] | None, Query(alias="actor-type", description="ICF actor class.")] = None,
    top: Annotated[int, Query(ge=1, le=1000, description="Candidates per source, or pairs in all.")] = 10,
    per: Annotated[Per, Query(description="Top N per source actor or the top N pairs overall.")] = Per.source,
    format: Annotated[MatchFormat, Query(description="json (default) or csv.")] = MatchFormat.json,
    record: Annotated[bool, Query(description="Write the run into graph/matching/<run-id>.")] = False,
) -> JSONResponse | Response:
    """Candidates for the corridor ``from`` → ``to``."""
    corridor = Corridor.parse(from_, to, themes=theme, actor_types=actor_type)
    result = await run_in_threadpool(_match, store, corridor, top, per)
    run: dict[str, str] | None = None
    if record:
        state = write_state(request)

        def _save() -> dict[str, str]:
            with state.write_lock:
                saved = save_run(store, result)
            return {"id": saved.run_id, "graph": str(saved.graph), "iri": str(saved.run)}

        run = await run_in_threadpool(_save)
    if format is MatchFormat.csv:
        return Response(result_csv(result), media_type="text/csv; charset=utf-8")
    document: dict[str, Any] = result_document(result, run=run)
    return JSONResponse(document)
