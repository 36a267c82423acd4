"""The submission pipeline in-process: scope rules, replacement, withdrawal, records, rollback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.auth import Steward
from boostkg.config import Settings
from boostkg.errors import ConflictError, ForbiddenError, InputError, NotConformingError, StoreError
from boostkg.ingest.pipeline import SubmissionRequest, declared_dataset, media_type_of, submit, withdraw
from boostkg.ingest.scope import find_offences
from boostkg.ingest.submissions import Status, get_submission, list_submissions
from boostkg.store import EmbeddedStore, open_store
from boostkg.store.base import RdfFormat
from boostkg.store.parsing import ParsedTriples, parse_triples
from boostkg.validation import Shapes, load_shapes
from tests.ingest.samples import HEAD, ID, TIT, TIT_NO_REGION

BBF = Steward("0000b001", "Boris", URIRef(ID + "organisation/bbf"), "BG33")
ADMIN = Steward("0000c001", "Admin", URIRef(ID + "organisation/bbf"), None, admin=True)


def sme(slug: str, region: str = "RO11") -> str:
    return (
        f'org:{slug} a icf:SME ; rdfs:label "{slug}"@en ; icf:inRegion nuts:{region} ;\n'
        f'  dcterms:description "An SME."@en ; foaf:homepage <https://example.org/{slug}> ;\n'
        "  icf:hasTheme theme:ict-digital .\n"
    )


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return load_shapes(Settings().shapes_dir)


@pytest.fixture
def kg(loaded_store: EmbeddedStore, tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A private, writable copy of the session's loaded store, taken from a checkpoint (the live
    database's files may be compacted away while they are copied)."""
    copy = tmp_path / "store"
    shutil.copytree(loaded_store.reader_snapshot(), copy / "db")
    store = open_store(copy)
    yield store
    store.close()


def send(kg: EmbeddedStore, shapes: Shapes, who: Steward, text: str, **kw: str | None) -> str:
    outcome = submit(
        kg,
        shapes,
        who,
        SubmissionRequest((HEAD + text).encode(), "text/turtle", "t.ttl", **kw),
        max_bytes=10**6,
    )
    assert outcome.id is not None
    return outcome.id


def graph_of(text: str) -> ParsedTriples:
    return parse_triples((HEAD + text).encode(), RdfFormat.TURTLE, source="t.ttl")


def test_accepted_submission_is_recorded_and_listed(kg: EmbeddedStore, shapes: Shapes) -> None:
    sid = send(kg, shapes, TIT, sme("alpha") + 'org:tit rdfs:comment "our own"@en .\n')
    record = get_submission(kg, sid)
    assert (record.status, record.steward, record.organisation, record.triples) == (
        Status.accepted,
        "Ana",
        TIT.organisation,
        7,
    )
    assert kg.triple_count(record.graph) == 7
    assert [r.id for r in list_submissions(kg, steward="Ana")] == [sid]
    assert list_submissions(kg, steward="Nobody") == []


def test_region_steward_may_describe_actors_of_the_region_and_what_they_have(
    kg: EmbeddedStore, shapes: Shapes
) -> None:
    # nwrda is a seed actor in RO11; its need is linked from it in the seed graph
    needs = kg.select(
        f"SELECT ?n WHERE {{ <{ID}organisation/nwrda> <https://w3id.org/boostkg/icf#hasNeed> ?n }}"
    )
    assert needs, "the seed gives nwrda a need"
    need = needs[0]["n"]
    text = f'org:nwrda rdfs:comment "x"@en .\n<{need}> rdfs:comment "y"@en .\n'
    assert find_offences(kg, TIT, graph_of(text), own_graphs=frozenset()) == []
    # without the region, only the organisation's own entities are in lane
    offences = find_offences(kg, TIT_NO_REGION, graph_of(text), own_graphs=frozenset())
    assert {str(o.triple[0]) for o in offences} == {ID + "organisation/nwrda", str(need)}


def test_ontology_terms_reference_data_and_vocabulary_declarations_are_refused(kg: EmbeddedStore) -> None:
    text = (
        'icf:SME rdfs:comment "x" .\n'
        'nuts:RO11 rdfs:label "x" .\n'
        '<https://w3id.org/boostkg/id/classification/eis-2024-RO> rdfs:comment "x" .\n'
        "org:my-prop a <http://www.w3.org/2002/07/owl#ObjectProperty> .\n"
        "org:alias <http://www.w3.org/2002/07/owl#sameAs> icf:Actor .\n"
    )
    offences = find_offences(kg, ADMIN, graph_of(text), own_graphs=frozenset())
    assert len(offences) == 5  # admins too
    reasons = " | ".join(o.reason for o in offences)
    assert "ontology or reference term" in reasons
    assert "declares vocabulary" in reasons
    assert "redefines the ontology term" in reasons


def test_forbidden_error_names_every_offending_triple(kg: EmbeddedStore, shapes: Shapes) -> None:
    before = kg.triple_count()
    with pytest.raises(ForbiddenError) as caught:
        send(kg, shapes, TIT, 'org:bbf rdfs:label "mine"@en ; rdfs:comment "also mine"@en .\n' + sme("ok"))
    assert len(caught.value.triples) == 2
    assert all(t.startswith(f"<{ID}organisation/bbf>") for t in caught.value.triples)
    assert kg.triple_count() == before


def test_colleagues_of_one_organisation_share_a_lane_and_others_do_not(
    kg: EmbeddedStore, shapes: Shapes
) -> None:
    send(kg, shapes, TIT, sme("shared-sme", region="RO113"))
    extra = 'org:shared-sme rdfs:comment "more"@en .\n'
    send(kg, shapes, TIT_NO_REGION, extra)  # a colleague at TIT (no region) extends it
    with pytest.raises(ForbiddenError):
        send(kg, shapes, BBF, extra)


def test_dataset_resubmission_replaces_and_withdrawal_keeps_history(
    kg: EmbeddedStore, shapes: Shapes
) -> None:
    dataset = f'<{ID}dataset/tit-1> a void:Dataset ; rdfs:label "TIT data" .\n'
    first = send(kg, shapes, TIT, dataset + sme("v1"))
    second = send(kg, shapes, TIT, dataset + sme("v2"))
    old, new = get_submission(kg, first), get_submission(kg, second)
    assert (old.status, old.ended_by, new.replaces, new.dataset) == (
        Status.replaced,
        second,
        first,
        URIRef(ID + "dataset/tit-1"),
    )
    assert kg.triple_count(old.graph) == 0
    # another organisation may not take the dataset over
    with pytest.raises(ForbiddenError):
        send(kg, shapes, BBF, dataset + sme("bg", region="BG33"))
    gone = withdraw(kg, TIT, second)
    assert gone.status is Status.withdrawn
    assert kg.triple_count(new.graph) == 0
    with pytest.raises(ConflictError, match="already withdrawn"):
        withdraw(kg, TIT, second)
    assert [r.status for r in list_submissions(kg)] == [Status.replaced, Status.withdrawn]


def test_not_conforming_carries_the_report_and_changes_nothing(kg: EmbeddedStore, shapes: Shapes) -> None:
    before = kg.graphs()
    with pytest.raises(NotConformingError) as caught:
        send(kg, shapes, TIT, "org:nameless a icf:SME .\n")
    outcome = caught.value.outcome
    assert (outcome["status"], outcome["conforms"], outcome["id"]) == ("rejected", False, None)
    assert kg.graphs() == before


def test_a_failing_commit_rolls_back_and_leaves_no_archive(
    kg: EmbeddedStore, shapes: Shapes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = kg.graphs()

    def broken(*_: object, **__: object) -> None:
        raise StoreError("disk full (simulated)")

    monkeypatch.setattr(kg, "add_triples", broken)
    archive = tmp_path / "archive"
    with pytest.raises(StoreError, match="simulated"):
        submit(
            kg,
            shapes,
            TIT,
            SubmissionRequest((HEAD + sme("doomed")).encode(), "text/turtle", "t.ttl"),
            max_bytes=10**6,
            archive=archive,
        )
    monkeypatch.undo()
    assert kg.graphs() == before
    assert list(archive.iterdir()) == []


def test_two_declared_datasets_are_refused() -> None:
    text = f"<{ID}dataset/a> a void:Dataset .\n<{ID}dataset/b> a <http://www.w3.org/ns/dcat#Dataset> .\n"
    with pytest.raises(InputError, match="2 datasets"):
        declared_dataset(graph_of(text), "t.ttl")


@pytest.mark.parametrize(
    ("declared", "name", "expected"),
    [
        ("text/turtle; charset=utf-8", None, "text/turtle"),
        ("application/x-turtle", None, "text/turtle"),
        ("application/json", None, "application/ld+json"),
        ("application/octet-stream", "x.nt", "application/n-triples"),
        ("application/trig", None, "application/trig"),
    ],
)
def test_media_types(declared: str, name: str | None, expected: str) -> None:
    assert media_type_of(declared, name) == expected


def test_blank_node_labels_stay_local_to_their_submission(kg: EmbeddedStore, shapes: Shapes) -> None:
    """Two submissions that both write ``_:addr`` describe two different nodes in the store, and a
    triple stated twice in one file is one triple."""
    text = (
        sme("{slug}").rstrip(" .\n")
        + " ;\n  rdfs:seeAlso _:addr .\n"
        + '_:addr rdfs:label "Front desk"@en .\n_:addr rdfs:label "Front desk"@en .\n'
    )
    first = send(kg, shapes, TIT, text.replace("{slug}", "alpha"))
    second = send(kg, shapes, TIT, text.replace("{slug}", "beta"))
    rows = kg.select(
        'SELECT DISTINCT ?b WHERE { ?b <http://www.w3.org/2000/01/rdf-schema#label> "Front desk"@en }'
    )
    assert len(rows) == 2
    assert all(str(row["b"]) != "addr" for row in rows)
    assert get_submission(kg, first).triples == get_submission(kg, second).triples == 8
