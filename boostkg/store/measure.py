"""``python -m boostkg.store.measure CHECKPOINT GENERATION``: the fan-out bounds of a database
checkpoint (:func:`~boostkg.store.embedded.measure_degrees`) as JSON on standard output.

The server measures in a child process of its own: grouping a store's quads by subject and by
object builds hash tables of a few hundred MiB for a million quads, which a long-running process
would keep as resident memory after the measurement; a child returns it when it ends. The
checkpoint is removed when the measurement ends.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from boostkg.errors import StoreError
from boostkg.store.embedded import measure_degrees


def main(argv: list[str]) -> int:
    checkpoint, generation = Path(argv[0]), int(argv[1])
    try:
        degrees = measure_degrees(checkpoint, generation)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(degrees.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
