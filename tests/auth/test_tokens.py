"""The token register: hashes only, shown once, revocation, constant-time verification."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.auth import TokenStore, token_store_path
from boostkg.errors import AuthError, InputError, NotFoundError

ORG = "https://w3id.org/boostkg/id/organisation/tit"


@pytest.fixture
def register(tmp_path: Path) -> TokenStore:
    return TokenStore(token_store_path(tmp_path / "store"))


def test_created_token_verifies_to_its_steward(register: TokenStore) -> None:
    token, who = register.create(steward="Ana Pop", organisation=ORG, region="RO11")
    steward = register.verify(token)
    assert steward == who
    assert steward.name == "Ana Pop"
    assert steward.organisation == URIRef(ORG)
    assert steward.region == "RO11"
    assert steward.admin is False


def test_register_holds_no_secret(register: TokenStore) -> None:
    token, _ = register.create(steward="Ana Pop", organisation=ORG)
    secret = token.split("_", 2)[2]
    raw = register.path.read_bytes()
    assert secret.encode() not in raw
    assert token.encode() not in raw
    with sqlite3.connect(register.path) as conn:
        salt, digest = conn.execute("SELECT salt, hash FROM tokens").fetchone()
    assert len(salt) == 16
    assert len(digest) == 32


def test_two_tokens_get_different_salts(register: TokenStore) -> None:
    register.create(steward="A", organisation=ORG)
    register.create(steward="B", organisation=ORG)
    with sqlite3.connect(register.path) as conn:
        salts = {row[0] for row in conn.execute("SELECT salt FROM tokens")}
    assert len(salts) == 2


@pytest.mark.parametrize(
    "presented", [None, "", "Bearer", "bkg_00000000_xxxxxxxxxxxxxxxxxxxxxxxx", "nonsense"]
)
def test_missing_malformed_or_unknown_token_is_refused(register: TokenStore, presented: str | None) -> None:
    register.create(steward="A", organisation=ORG)
    with pytest.raises(AuthError):
        register.verify(presented)


def test_wrong_secret_for_a_known_id_is_refused(register: TokenStore) -> None:
    token, _ = register.create(steward="A", organisation=ORG)
    head, secret = token.rsplit("_", 1)
    wrong = head + "_" + ("A" if secret[0] != "A" else "B") + secret[1:]
    with pytest.raises(AuthError, match="unknown token"):
        register.verify(wrong)


def test_revoked_token_is_refused_and_listed_as_revoked(register: TokenStore) -> None:
    token, who = register.create(steward="A", organisation=ORG, admin=True)
    info = register.revoke(who.token_id)
    assert not info.active
    with pytest.raises(AuthError, match="revoked"):
        register.verify(token)
    listed = register.tokens()
    assert [(i.steward.token_id, i.active, i.steward.admin) for i in listed] == [(who.token_id, False, True)]


def test_revoking_an_unknown_id_names_it(register: TokenStore) -> None:
    with pytest.raises(NotFoundError, match="deadbeef"):
        register.revoke("deadbeef")


@pytest.mark.parametrize(
    ("steward", "organisation", "region"),
    [("", ORG, None), ("A", "tit", None), ("A", "https://x.org/a b", None), ("A", ORG, "Romania")],
)
def test_bad_token_attributes_are_refused(
    register: TokenStore, steward: str, organisation: str, region: str | None
) -> None:
    with pytest.raises(InputError):
        register.create(steward=steward, organisation=organisation, region=region)
    assert register.tokens() == []
