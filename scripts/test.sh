#!/usr/bin/env bash
# Install what the tests need, then run the whole suite: format check, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
echo "==> ruff format --check"; .venv/bin/ruff format --check .
echo "==> ruff check";          .venv/bin/ruff check .
echo "==> mypy boostkg";        .venv/bin/mypy boostkg
# two workers (tests/parallel.py): ./scripts/test.sh -n 2 --dist loadfile (not the default until three
# consecutive full runs pass that way: see tests/parallel.py)
echo "==> pytest";              .venv/bin/python -m pytest "$@"
