"""Token expiry in the register and on the command line; the failed-authentication buckets; the
script hashes of the Content-Security-Policy (no server needed)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from boostkg.api.security import FailureBuckets, inline_script_hashes, page_policy
from boostkg.auth import TokenStore, token_store_path
from boostkg.errors import AuthError, InputError
from tests.cli_in_process import boostkg_in_process

ORG = "https://w3id.org/boostkg/id/organisation/tit"


@pytest.fixture
def register(tmp_path: Path) -> TokenStore:
    return TokenStore(token_store_path(tmp_path / "store"))


def test_a_token_with_a_lifetime_is_refused_after_it(register: TokenStore) -> None:
    token, who = register.create(steward="Ana", organisation=ORG, expires_in=timedelta(days=2))
    assert register.verify(token) == who
    with sqlite3.connect(register.path) as conn:  # two days later: move the stored expiry back
        conn.execute(
            "UPDATE tokens SET expires = ? WHERE id = ?", (datetime.now(UTC).isoformat(), who.token_id)
        )
    with pytest.raises(AuthError, match=f"token {who.token_id} expired on"):
        register.verify(token)
    (info,) = register.tokens()
    assert info.expired
    assert not info.active


def test_a_token_without_a_lifetime_never_expires_and_lifetimes_must_be_positive(
    register: TokenStore,
) -> None:
    token, who = register.create(steward="Ana", organisation=ORG)
    (info,) = register.tokens()
    assert info.expires is None
    assert info.active
    assert register.verify(token) == who
    for bad in (timedelta(0), timedelta(days=-1)):
        with pytest.raises(InputError, match="must be positive"):
            register.create(steward="Ana", organisation=ORG, expires_in=bad)


def test_a_register_from_before_expiry_gains_the_column_and_keeps_its_tokens(tmp_path: Path) -> None:
    path = token_store_path(tmp_path / "store")
    path.parent.mkdir(parents=True)
    old = TokenStore(path)
    token, who = old.create(steward="Ana", organisation=ORG)
    with sqlite3.connect(path) as conn:  # rebuild the table as it was before tokens could expire
        conn.execute(
            "CREATE TABLE old AS SELECT id, steward, organisation, region, admin, salt, hash, created,"
            " revoked"
            " FROM tokens"
        )
        conn.execute("DROP TABLE tokens")
        conn.execute("ALTER TABLE old RENAME TO tokens")
    assert TokenStore(path).verify(token) == who
    records = TokenStore(path).records()
    assert records[0]["expires"] is None
    del records[0]["expires"]  # a backup taken before expiry existed restores too
    TokenStore(path).replace_records(records)
    assert TokenStore(path).verify(token) == who


def test_backup_records_keep_the_expiry(register: TokenStore, tmp_path: Path) -> None:
    _token, _ = register.create(steward="Ana", organisation=ORG, expires_in=timedelta(days=7))
    records = register.records()
    assert records[0]["expires"] is not None
    other = TokenStore(token_store_path(tmp_path / "other"))
    other.replace_records(records)
    assert other.records() == records
    assert other.tokens()[0].expires == register.tokens()[0].expires


def test_token_create_expires_in_days_from_the_command_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ("token", "create", "--steward", "Ana", "--organisation", ORG, "--store", str(store))
    created = boostkg_in_process(*args, "--expires-in", "30", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    (info,) = TokenStore(token_store_path(store)).tokens()
    assert info.expires is not None
    assert abs((info.expires - info.created) - timedelta(days=30)) < timedelta(seconds=1)
    listed = boostkg_in_process("token", "list", "--store", str(store), cwd=tmp_path)
    assert f"expires {info.expires:%Y-%m-%d}" in listed.stdout
    refused = boostkg_in_process(*args, "--expires-in", "0", cwd=tmp_path)
    assert refused.returncode != 0
    assert "must be positive" in refused.stderr


def test_failure_buckets_allow_a_burst_then_refill_per_key() -> None:
    now = [0.0]
    buckets = FailureBuckets(burst=3, per_second=0.5, clock=lambda: now[0])
    for _ in range(3):
        assert buckets.wait("a") == 0
        buckets.spend("a")
    assert buckets.wait("a") == pytest.approx(2.0)  # one failure back every two seconds
    assert buckets.wait("b") == 0  # another address is untouched
    now[0] = 2.0
    assert buckets.wait("a") == 0
    buckets.spend("a")
    assert buckets.wait("a") == pytest.approx(2.0)
    now[0] = 100.0
    assert buckets.wait("a") == 0


def test_failure_buckets_stay_bounded_under_a_flood_of_addresses() -> None:
    now = [0.0]
    buckets = FailureBuckets(burst=2, per_second=1.0, clock=lambda: now[0], keep=100)
    for i in range(1000):
        now[0] += 0.001
        buckets.spend(f"10.0.{i // 256}.{i % 256}")
    assert len(buckets._buckets) <= 100


def test_the_policy_hashes_exactly_the_templates_inline_scripts(tmp_path: Path) -> None:
    (tmp_path / "a.html.j2").write_text(
        '<script src="/x.js"></script><script type="application/json">{{ data | tojson }}</script>'
        "<script>run()</script>",
        encoding="utf-8",
    )
    # sha256("run()") in base64, from `printf 'run()' | openssl dgst -sha256 -binary | base64`
    assert inline_script_hashes(tmp_path) == ("'sha256-AvyuiL0SD1mVY3NNxR+V2uo+lhk6RMFrytWmRt6CrJQ='",)
    policy = page_policy(inline_script_hashes(tmp_path))
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe" not in policy.split("style-src")[0]
    (tmp_path / "b.html.j2").write_text("<script>var x = {{ x }};</script>", encoding="utf-8")
    with pytest.raises(ValueError, match=r"b\.html\.j2"):
        inline_script_hashes(tmp_path)
    assert len(inline_script_hashes()) == 2  # the query page's and the submit page's
