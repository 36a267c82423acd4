"""The token register: a small SQLite file beside the store's database, holding salted hashes.

A token reads ``bkg_<id>_<secret>``: ``id`` (8 hex digits) finds the row, ``secret`` (256 random
bits) is checked against the row's scrypt hash in constant time. The secret itself is never
written anywhere; ``create`` returns it once. The register lives in ``<store>/tokens.sqlite``
(the embedded database is ``<store>/db``), so tokens can be managed while the server runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rdflib import URIRef

from boostkg.errors import AuthError, InputError, NotFoundError, StoreError

TOKEN_FILE = "tokens.sqlite"
_PREFIX = "bkg"
_TOKEN = re.compile(rf"^{_PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{20,100}})$")
_NUTS_CODE = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")
_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
# scrypt cost: ~16 MiB and a few tens of milliseconds per check. The secrets are random, so this is
# defence in depth for a stolen register rather than protection of guessable passwords.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_DUMMY_SALT = b"\0" * 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    steward TEXT NOT NULL,
    organisation TEXT NOT NULL,
    region TEXT,
    admin INTEGER NOT NULL DEFAULT 0,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT,
    expires TEXT
)
"""
# registers written before tokens could expire lack the column; it is added on first open
_COLUMNS = "id, steward, organisation, region, admin, salt, hash, created, revoked, expires"


@dataclass(frozen=True)
class Steward:
    """Who a valid token speaks for: a named steward of an organisation, maybe of a region."""

    token_id: str
    name: str
    organisation: URIRef
    region: str | None = None
    admin: bool = False


@dataclass(frozen=True)
class TokenInfo:
    """A row of the register, without its hash (for ``token list``)."""

    steward: Steward
    created: datetime
    revoked: datetime | None
    expires: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None and not self.expired

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= datetime.now(UTC)


def token_store_path(store_dir: Path) -> Path:
    """Where the token register of the store at ``store_dir`` lives."""
    return store_dir / TOKEN_FILE


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, **_SCRYPT)


class TokenStore:
    """Create, list, revoke and verify stewards' tokens in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn:
                conn.execute(_SCHEMA)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(tokens)")}
                if "expires" not in columns:
                    conn.execute("ALTER TABLE tokens ADD COLUMN expires TEXT")
                with conn:  # one transaction, committed on success
                    yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"token register {self.path}: {exc}") from exc

    def create(
        self,
        *,
        steward: str,
        organisation: str,
        region: str | None = None,
        admin: bool = False,
        expires_in: timedelta | None = None,
    ) -> tuple[str, Steward]:
        """Register a new token; return it (the only time it is ever shown) and who it speaks for.
        With ``expires_in`` the token is refused once that much time has passed (never otherwise).

        Raises:
            InputError: empty steward name, organisation not an absolute http(s) IRI, a region
                that is not a NUTS code, or an ``expires_in`` that is not positive.
        """
        name = steward.strip()
        if not name:
            raise InputError("the steward's name is empty")
        if not _IRI.match(organisation):
            raise InputError(f"organisation {organisation!r} is not an absolute http(s) IRI")
        if region is not None and not _NUTS_CODE.match(region):
            raise InputError(f"region {region!r} is not a NUTS code (e.g. RO11, EE00, DK03)")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InputError(f"a token's lifetime must be positive, not {expires_in}")
        token_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        created = datetime.now(UTC)
        expires = (created + expires_in).isoformat() if expires_in is not None else None
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO tokens (id, steward, organisation, region, admin, salt, hash, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token_id,
                    name,
                    organisation,
                    region,
                    int(admin),
                    salt,
                    _hash(secret, salt),
                    created.isoformat(),
                    expires,
                ),
            )
        who = Steward(token_id, name, URIRef(organisation), region, admin)
        return f"{_PREFIX}_{token_id}_{secret}", who

    def tokens(self) -> list[TokenInfo]:
        """Every token ever created, oldest first (revoked ones included)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, steward, organisation, region, admin, created, revoked, expires FROM tokens"
                " ORDER BY created, id"
            ).fetchall()
        return [
            TokenInfo(
                Steward(row[0], row[1], URIRef(row[2]), row[3], bool(row[4])),
                datetime.fromisoformat(row[5]),
                datetime.fromisoformat(row[6]) if row[6] else None,
                datetime.fromisoformat(row[7]) if row[7] else None,
            )
            for row in rows
        ]

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token by its id (the 8 hex digits after ``bkg_``); revoking twice is harmless.

        Raises:
            NotFoundError: no token has that id.
        """
        with self._connect() as conn:
            conn.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (datetime.now(UTC).isoformat(), token_id),
            )
        for info in self.tokens():
            if info.steward.token_id == token_id:
                return info
        raise NotFoundError(f"no token with id {token_id!r}")

    def verify(self, token: str | None) -> Steward:
        """The steward a presented token speaks for.

        Raises:
            AuthError: no token, a malformed or unknown one, a wrong secret, a revoked or an expired
                token.
        """
        if not token:
            raise AuthError("no token: send 'Authorization: Bearer <token>'")
        match = _TOKEN.match(token.strip())
        if match is None:
            raise AuthError("malformed token")
        token_id, secret = match.groups()
        with self._connect() as conn:
            row = conn.execute(
                "SELECT steward, organisation, region, admin, salt, hash, revoked, expires FROM tokens"
                " WHERE id = ?",
                (token_id,),
            ).fetchone()
        if row is None:
            _hash(secret, _DUMMY_SALT)  # spend the same time as for a known id
            raise AuthError("unknown token")
        if not hmac.compare_digest(_hash(secret, row[4]), row[5]):
            raise AuthError("unknown token")
        if row[6]:
            raise AuthError(f"token {token_id} was revoked on {row[6][:10]}")
        if row[7] and datetime.fromisoformat(row[7]) <= datetime.now(UTC):
            raise AuthError(f"token {token_id} expired on {row[7][:10]}")
        return Steward(token_id, row[0], URIRef(row[1]), row[2], bool(row[3]))

    # --- backup and restore (boostkg.backup) -------------------------------------------------------
    def records(self) -> list[dict[str, str | int | None]]:
        """Every row of the register as plain JSON values (salt and hash in hex), oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY created, id").fetchall()
        return [
            {
                "id": row[0],
                "steward": row[1],
                "organisation": row[2],
                "region": row[3],
                "admin": int(row[4]),
                "salt": bytes(row[5]).hex(),
                "hash": bytes(row[6]).hex(),
                "created": row[7],
                "revoked": row[8],
                "expires": row[9],
            }
            for row in rows
        ]

    def replace_records(self, records: list[dict[str, str | int | None]]) -> None:
        """Make the register hold exactly ``records`` (as :meth:`records` gives them): written to a
        new file that then replaces the old one in one rename.

        Raises:
            InputError: a record lacks a field or has a malformed one.
            StoreError: the file could not be written.
        """
        try:
            rows = [
                (
                    str(r["id"]),
                    str(r["steward"]),
                    str(r["organisation"]),
                    None if r["region"] is None else str(r["region"]),
                    int(r["admin"] or 0),
                    bytes.fromhex(str(r["salt"])),
                    bytes.fromhex(str(r["hash"])),
                    str(r["created"]),
                    None if r["revoked"] is None else str(r["revoked"]),
                    None if r.get("expires") is None else str(r["expires"]),  # older backups lack it
                )
                for r in records
            ]
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"malformed token record: {exc}") from exc
        fresh = self.path.with_name(self.path.name + ".new")
        fresh.unlink(missing_ok=True)
        try:
            TokenStore(fresh).tokens()  # creates the schema
            with closing(sqlite3.connect(fresh)) as conn, conn:
                conn.executemany(f"INSERT INTO tokens ({_COLUMNS}) VALUES ({', '.join('?' * 10)})", rows)
            fresh.replace(self.path)
        except sqlite3.Error as exc:
            fresh.unlink(missing_ok=True)
            raise StoreError(f"token register {self.path}: {exc}") from exc
