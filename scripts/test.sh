#!/usr/bin/env bash
# Install what the tests need, then run the whole suite: format check, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
echo "==> ruff format --check"; .venv/bin/ruff format --check .
echo "==> ruff check";          .venv/bin/ruff check .
echo "==> mypy boostkg";        .venv/bin/mypy boostkg
# two workers (tests/parallel.py: whole modules as units, longest first); `./scripts/test.sh -n 0`
# runs serially, arguments after these win
echo "==> pytest";              .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
