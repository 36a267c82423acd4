#!/usr/bin/env bash
# The main job on the embedded default store: set up (first run only), load the ontology and the
# shipped data, infer, write the load report, and serve on 127.0.0.1:8000.
# Extra arguments go to `boostkg main` (e.g. --port 8080, --store DIR, --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/boostkg main "$@"
