"""Which file-reading table initialisers read only the module's own assets (SEC601's exception).

A text module builds its vocabulary table with ``InitializeTableFromTextFileV2``
fed by a filename tensor that the loader replaces by ``assets/<file>``.  Such an
op is safe exactly when, by static proof:

- it is a node of the graph (not inside a library function, whose arguments
  could come from anywhere);
- its filename input is, through Identity ops only, a string Const that both
  loaders replace: TensorFlow's SavedModel loader feeds the ``asset_file_def``
  tensors (the ``saved_model_assets`` collection's when there are none), and
  hub.Module rewrites the Consts of the ``saved_model_assets`` collection --
  a Const only one of them replaces is read at its exported path by the other;
- the declared file is a regular file inside the module's ``assets/`` (no
  ``..``, no absolute path, no link leaving the module).

Anything else is a file access like any other, and the reason says why.
"""

from __future__ import annotations

import posixpath
from typing import Optional

from ..facts.assets import ASSETS_COLLECTION, FILENAME_INPUT

_PASS_THROUGH = ("Identity", "Snapshot", "StopGradient")


def asset_read_problem(meta, node) -> Optional[str]:
    """None when ``node`` (a file-reading table op at graph level) reads a declared asset of
    the module that is a file inside it; otherwise why its file access is unsafe."""
    source = _source(meta.graph, node.inputs[FILENAME_INPUT] if len(node.inputs) > FILENAME_INPUT else "")
    head = f"{node.op} {node.name!r}"
    if source is None:
        return f"{head} has no filename input"
    entries = [a for a in meta.assets if a.node == source.name]
    asset = entries[0] if entries else None
    if asset is not None and source.op == "Const":
        broken = [a for a in entries if a.problem is not None]
        if broken:
            return f"{head} reads the declared asset {broken[0].filename!r}, but {broken[0].problem}"
        if len({a.filename for a in entries}) > 1:
            return f"{head} reads {source.name!r}, declared as several asset files: " + \
                ", ".join(sorted({a.filename for a in entries}))
        missing = [who for who, ok in (("TensorFlow's SavedModel loader", any(a.fed_by_tensorflow for a in entries)),
                                       ("hub.Module", any(a.source == ASSETS_COLLECTION for a in entries))) if not ok]
        if not missing:
            return None
        value = next((p.value for p in meta.path_consts if p.node == source.name), "?")
        return (f"{head} reads {source.name!r}, an asset that {' and '.join(missing)} does not rewrite, "
                f"so it would read the exported path {value!r}")
    value = next((p.value for p in meta.path_consts if p.node == source.name), None)
    if value is None:
        return (f"{head} reads the path computed by {source.name!r} ({source.op}), "
                "not a declared asset of the module")
    if asset is not None:
        return f"{head} reads {value!r} from {source.name!r}, a declared asset that is a {source.op}, not a Const"
    if value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        why = "an absolute path outside the module, not a declared asset"
    elif ".." in posixpath.normpath(value.replace("\\", "/")).split("/"):
        why = "a path leaving the module, not a declared asset"
    else:
        why = "not a declared asset of the module (no asset_file_def or saved_model_assets entry names it)"
    return f"{head} reads {value!r}: {why}"


def _source(graph, raw: str):
    """The node that produces the filename, through pass-through ops (None if there is none)."""
    seen = set()
    name = raw.lstrip("^").split(":", 1)[0]
    while name and name not in seen:
        seen.add(name)
        node = graph.by_name.get(name)
        if node is None or node.op not in _PASS_THROUGH or not node.inputs:
            return node
        name = node.inputs[0].lstrip("^").split(":", 1)[0]
    return None
