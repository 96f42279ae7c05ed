"""Which file-reading table initialisers read only the module's own assets (SEC601's exception).

A text module builds its vocabulary table with ``InitializeTableFromTextFileV2``
fed by a filename tensor that the loader replaces by ``assets/<file>``.  Such an
op is safe exactly when, by static proof, its filename input is one of:

- at graph level, through Identity ops only, a string Const that both loaders
  replace: TensorFlow's SavedModel loader feeds the ``asset_file_def`` tensors
  (the ``saved_model_assets`` collection's when there are none), and hub.Module
  rewrites the Consts of the ``saved_model_assets`` collection -- a Const only
  one of them replaces is read at its exported path by the other;
- at graph level, a Placeholder TensorFlow's loader feeds as a declared asset
  (a Placeholder nobody feeds fails instead of reading anything), or a read of a
  resource variable whose every use is a read or an assignment of such a proven
  asset tensor and that no other handle names (TF2 exports keep the asset path
  in such a variable for the graph's init op);
- inside a library function (TF2: a restored table's ``_initialize``), an
  argument of the function that every call reached passes a proven asset: a
  graph-level call passes one of the above, a call inside another function
  passes its own proven argument, and a restored concrete function (what
  ``tf.saved_model.load`` calls) binds the argument to a captured asset object
  of the object graph, which the loader makes ``<module>/assets/<filename>``;

and the declared file is a regular file inside the module's ``assets/`` (no
``..``, no absolute path, no link leaving the module).  Anything else is a file
access like any other, and the reason says why.
"""

from __future__ import annotations

import posixpath
from typing import Optional

from ..facts.assets import ASSETS_COLLECTION, FILENAME_INPUT

_PASS_THROUGH = ("Identity", "Snapshot", "StopGradient")


RESTORED_CALL_PREFIX = "<restored>/"  # execution.with_restored_calls: no graph node name starts with "<"
PLAIN_CALLS = ("PartitionedCall", "StatefulPartitionedCall")
_READS = ("ReadVariableOp", "VarIsInitializedOp")


def asset_read_problem(meta, node, scope=None, callers=None) -> Optional[str]:
    """None when ``node`` (a file-reading table op; ``scope`` the index of the library function
    holding it, None at graph level) reads a declared asset of the module that is a file inside
    it; otherwise why its file access is unsafe.  ``callers``: function name -> (scope, node) of
    every reached node that calls it (needed for an op inside a function)."""
    head = f"{node.op} {node.name!r}"
    raw = node.inputs[FILENAME_INPUT] if len(node.inputs) > FILENAME_INPUT else ""
    if not raw:
        return f"{head} has no filename input"
    if scope is None:
        return _graph_tensor_problem(meta, raw, head)
    return _in_function_problem(meta, scope, raw, head, callers or {}, set())


def _graph_tensor_problem(meta, raw: str, head: str, through_variable: bool = True) -> Optional[str]:
    source = _source(meta.graph, raw)
    if source is None:
        return f"{head} has no filename input"
    entries = [a for a in meta.assets if a.node == source.name]
    if source.op == "ReadVariableOp" and through_variable:
        return _variable_problem(meta, source, head)
    if entries and source.op == "Placeholder" and any(a.fed_by_tensorflow for a in entries):
        return _declared_problem(head, source, entries)
    asset = entries[0] if entries else None
    if asset is not None and source.op == "Const":
        broken = _declared_problem(head, source, entries)
        if broken:
            return broken
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
    return f"{head} reads {value!r}: {_why_not_asset(value)}"


def _declared_problem(head: str, source, entries: list) -> Optional[str]:
    broken = [a for a in entries if a.problem is not None]
    if broken:
        return f"{head} reads the declared asset {broken[0].filename!r}, but {broken[0].problem}"
    if len({a.filename for a in entries}) > 1:
        return f"{head} reads {source.name!r}, declared as several asset files: " + \
            ", ".join(sorted({a.filename for a in entries}))
    return None


def _why_not_asset(value: str) -> str:
    if value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        return "an absolute path outside the module, not a declared asset"
    if ".." in posixpath.normpath(value.replace("\\", "/")).split("/"):
        return "a path leaving the module, not a declared asset"
    return "not a declared asset of the module (no asset_file_def or saved_model_assets entry names it)"


def _variable_problem(meta, read, head: str) -> Optional[str]:
    """Why the variable ``read`` reads may hold something else than a proven asset path, or None."""
    handle = _source(meta.graph, read.inputs[0] if read.inputs else "")
    if handle is None or handle.op != "VarHandleOp":
        return f"{head} reads the path held by {read.name!r}, whose variable is not a plain graph variable"
    named = [h for h in meta.handles if h.function is None and h.node == handle.name]
    aliases = [h for h in meta.handles if named and h.resource == named[0].resource and h is not named[0]]
    if not named or aliases:
        other = f" (also named by {aliases[0].node!r})" if aliases else ""
        return f"{head} reads the path held by variable {handle.name!r}, which another handle may write{other}"
    assigned = False
    for user in meta.graph.consumers.get(handle.name, ()):
        if user.op in _READS:
            continue
        value = user.inputs[1] if user.op == "AssignVariableOp" and len(user.inputs) > 1 else None
        if value is None or _source(meta.graph, user.inputs[0]) is not handle:
            return (f"{head} reads the path held by variable {handle.name!r}, which {user.name!r} ({user.op}) "
                    "also uses")
        problem = _graph_tensor_problem(meta, value, head, through_variable=False)
        if problem:
            return f"{problem} (assigned to variable {handle.name!r} by {user.name!r})"
        assigned = True
    return None if assigned else f"{head} reads variable {handle.name!r}, which is never assigned a declared asset"


def _in_function_problem(meta, scope: int, raw: str, head: str, callers: dict, seen: set) -> Optional[str]:
    """Why the tensor ``raw`` of library function ``scope`` may not be a proven asset path, or None."""
    function = meta.graph.functions[scope]
    source, name = _traced(meta.graph, raw, scope)
    if source is not None or name not in function.inputs:
        what = f"{source.name!r} ({source.op})" if source is not None else repr(name)
        return f"{head} reads the path computed by {what} inside function {function.name}, not a declared asset"
    if (function.name, name) in seen:
        return f"{head} reads argument {name!r} of function {function.name}, which is passed around in a cycle"
    seen = seen | {(function.name, name)}
    position = function.inputs.index(name)
    sites = callers.get(function.name, ())
    if not sites:
        return f"{head} reads argument {name!r} of function {function.name}, which no reached call passes"
    for site_scope, site in sites:
        problem = _site_problem(meta, site_scope, site, function, position, head, callers, seen)
        if problem:
            return problem
    return None


def _site_problem(meta, scope, site, function, position: int, head: str, callers: dict, seen: set):
    """Why call ``site`` of ``function`` may pass something else than a proven asset path at ``position``."""
    if scope is None and site.name.startswith(RESTORED_CALL_PREFIX):
        return _captured_problem(meta, function, position, head)
    direct = site.op == function.name and not site.functions
    if not (direct or (site.op in PLAIN_CALLS and site.functions == (function.name,))):
        return (f"{head} reads an argument of function {function.name}, which {site.name!r} ({site.op}) calls "
                "with arguments of its own")
    data = [raw for raw in site.inputs if not raw.startswith("^")]
    if position >= len(data):
        return f"{head} reads argument {position} of function {function.name}, which {site.name!r} does not pass"
    if scope is None:
        return _graph_tensor_problem(meta, data[position], head)
    return _in_function_problem(meta, scope, data[position], head, callers, seen)


def _captured_problem(meta, function, position: int, head: str) -> Optional[str]:
    """Why what ``tf.saved_model.load`` binds to argument ``position`` of the restored concrete
    function may not be a declared asset: the arguments its caller passes come first, its
    captures (``bound_inputs``, objects of the object graph) last."""
    graph = meta.object_graph
    concrete = graph.by_function_name.get(function.name) if graph is not None else None
    if concrete is None:
        return f"{head} is in {function.name}, which the object graph does not restore"
    first_capture = len(function.inputs) - len(concrete.bound_inputs)
    if position < first_capture:
        return (f"{head} reads argument {position} of restored function {function.name}, "
                "a path its caller chooses, not a declared asset")
    obj = graph.node(concrete.bound_inputs[position - first_capture])
    if obj is not None and obj.kind == "asset":
        declared = [a for a in meta.assets if a.source == "asset_file_def"]
        if not 0 <= (obj.asset_index or 0) < len(declared):
            return f"{head} reads asset object {obj.node_id}, whose asset_file_def entry does not exist"
        asset = declared[obj.asset_index or 0]
        if asset.problem is not None:
            return f"{head} reads the declared asset {asset.filename!r}, but {asset.problem}"
        return None
    if obj is not None and obj.kind == "constant":
        value = next((p.value for p in meta.path_consts if p.node == obj.constant), None)
        if value is not None:
            return f"{head} reads {value!r}, a constant captured by {function.name}: {_why_not_asset(value)}"
    what = "nothing" if obj is None else f"object {obj.node_id} ({obj.kind})"
    return f"{head} reads what {function.name} captures, {what}, not a declared asset of the module"


def _source(graph, raw: str, scope=None):
    """The node that produces the filename, through pass-through ops (None if there is none)."""
    return _traced(graph, raw, scope)[0]


def _traced(graph, raw: str, scope=None) -> tuple:
    """(node, name): the node reached through pass-through ops and its name; (None, name)
    when the name is no node (in a function body: an argument)."""
    nodes = graph.by_name if scope is None else graph.function_nodes(scope)
    seen = set()
    name = raw.lstrip("^").split(":", 1)[0]
    while name and name not in seen:
        seen.add(name)
        node = nodes.get(name)
        if node is None or node.op not in _PASS_THROUGH or not node.inputs:
            return node, name
        name = node.inputs[0].lstrip("^").split(":", 1)[0]
    return None, ""
