"""The fan-out bounds' raw figures for one database checkpoint, measured in a process of its own.

Run as a script (``python measure.py``) by :mod:`boostkg.api.planning`, never imported by the
package: like the query worker it needs only the standard library and pyoxigraph, so it starts in a
fraction of a second. It reads ``{"checkpoint": path, "queries": {name: SPARQL}}`` as JSON on its
input (the queries are :data:`boostkg.store.planner.DEGREE_QUERIES`), writes ``{name: [row, ...]}``
(each row a mapping of variable to the value's plain string) as JSON on its output, and removes the
checkpoint. Grouping a store's quads by subject and by object builds hash tables of a few hundred
MiB per million quads, which a long-running server would keep as resident memory; this process
gives them back when it ends. Exit status 1 and one line on standard error if the checkpoint cannot
be read.
"""

from __future__ import annotations

import json
import shutil
import sys

import pyoxigraph as ox


def main() -> int:
    request = json.loads(sys.stdin.read())
    checkpoint = str(request["checkpoint"])
    rows: dict[str, list[dict[str, str]]] = {}
    try:
        db = ox.Store.read_only(checkpoint)
        for name, text in request["queries"].items():
            result = db.query(text)
            variables = [v.value for v in result.variables]  # type: ignore[union-attr]
            rows[name] = [
                {v: row[v].value for v in variables if row[v] is not None}
                for row in result  # type: ignore[union-attr]
            ]
        del db
    except OSError as exc:
        print(f"cannot measure the checkpoint {checkpoint}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)
    sys.stdout.write(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
