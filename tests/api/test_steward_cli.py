"""``boostkg token create|list|revoke`` and ``boostkg submit`` against the real server.

``token create`` and an accepted ``submit`` run the installed console script in a subprocess; the
other commands run the same entry point in this process (tests/cli_in_process.py), which saves a
start-up (~1.5 s of CPU) each.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_in_process import boostkg_in_process

pytestmark = pytest.mark.subprocess

BOOSTKG = Path(sys.executable).with_name("boostkg")
EXAMPLES = Path(__file__).parents[2] / "data" / "examples"
NWRDA = "https://w3id.org/boostkg/id/organisation/nwrda"


def boostkg(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        [str(BOOSTKG), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def here(*args: str) -> subprocess.CompletedProcess[str]:
    """``boostkg ARGS`` through the console script's entry point in this process."""
    return boostkg_in_process(*args, cwd=Path.cwd())


def test_token_lifecycle_and_submit_from_the_command_line(served: object, tmp_path: Path) -> None:
    store, url = str(served.store), served.url  # type: ignore[attr-defined]
    created = boostkg(
        "token",
        "create",
        "--steward",
        "Radu Pop",
        "--organisation",
        NWRDA,
        "--region",
        "RO11",
        "--store",
        store,
    )
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1, "the token alone on stdout"
    token = lines[0]
    match = re.fullmatch(r"bkg_([0-9a-f]{8})_[A-Za-z0-9_-]{20,}", token)
    assert match, token
    token_id = match.group(1)
    assert token_id in created.stderr

    listed = here("token", "list", "--store", store)
    assert listed.returncode == 0, listed.stderr
    assert token_id in listed.stdout
    assert "Radu Pop" in listed.stdout
    assert "active" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # the secret (it may itself hold "_")

    accepted = boostkg("submit", str(EXAMPLES / "ro11-ecosystem.ttl"), "--url", url, "--token", token)
    assert accepted.returncode == 0, accepted.stderr
    assert re.search(r"accepted: submission \d{8}-\d{6}-[0-9a-f]{6} \(\d+ triples", accepted.stdout)

    invalid = here(
        "submit", str(EXAMPLES / "invalid" / "actor-without-name.ttl"), "--url", url, "--token", token
    )
    assert invalid.returncode == 1, invalid.stdout + invalid.stderr
    assert re.search(r"actor-without-name\.ttl:\d+: violation: ", invalid.stderr)
    assert "rejected: " in invalid.stderr

    revoked = here("token", "revoke", token_id, "--store", store)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in here("token", "list", "--store", store).stdout
    refused = here("submit", str(EXAMPLES / "ro11-ecosystem.ttl"), "--url", url, "--token", token)
    assert refused.returncode == 2
    assert "refused (401" in refused.stderr


def test_token_create_refuses_bad_attributes_on_one_line(tmp_path: Path) -> None:
    result = here(
        "token", "create", "--steward", "X", "--organisation", "not-an-iri", "--store", str(tmp_path / "s")
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: organisation 'not-an-iri' is not an absolute http(s) IRI"
    ]


def test_submit_to_an_unreachable_server_says_so(tmp_path: Path) -> None:
    result = here(
        "submit", str(EXAMPLES / "ro11-ecosystem.ttl"), "--url", "http://127.0.0.1:9", "--token", "bkg_x"
    )
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9/submissions" in result.stderr
