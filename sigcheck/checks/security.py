"""SEC601: what would execute at load and inference time is on an allowlist.

What executes: the fan-in (data and control inputs) of every signature output,
the init ops a loader or hub.Module runs (table initializers, main/init ops),
and the library functions any of those call.  The saver's restore op is walked
separately and may in addition use the checkpoint-restoring ops.
"""

from __future__ import annotations

from ..facts.graph import tensor_op_name, walk_back
from ..facts.model import format_tags
from . import check, location, passed, violated

# Collections whose ops a loader or hub.Module runs when the module is loaded.
INIT_COLLECTIONS = ("table_initializer", "saved_model_main_op", "legacy_init_op", "init_op", "local_init_op")


def execution_roots(meta) -> list:
    """(what, tensor or op name) for everything that runs besides restoring."""
    roots = []
    for signature in meta.signatures:
        for tensor in signature.outputs:
            if tensor.name:
                roots.append((f"output {signature.name}/{tensor.key}", tensor.name))
    for key in INIT_COLLECTIONS:
        collection = meta.collection(key)
        if collection is not None:
            roots.extend((f"init op {key}", name) for name in collection.values)
    return roots


def unsafe_ops(meta, options) -> list:
    """(op, path) for every op outside the allowlist that would execute."""
    allowed = set(options["allowed_ops"]) | set(options["extra_allowed_ops"])
    roots = execution_roots(meta)
    findings = _outside(meta, dict((tensor_op_name(n), what) for what, n in reversed(roots)), allowed)
    if meta.restore_op:
        restore_allowed = allowed | set(options["restore_ops"])
        findings += _outside(meta, {tensor_op_name(meta.restore_op): "restore op"}, restore_allowed)
    unique = {}
    for op, path in findings:
        unique.setdefault((op, path[-1]), (op, path))
    return list(unique.values())


def _outside(meta, roots: dict, allowed) -> list:
    """Ops outside ``allowed`` reached from ``roots`` (op name -> what it is)."""
    walk = walk_back(meta.graph, roots, functions=True)
    library = meta.graph.function_by_name
    found = []
    for function, name, node in walk:
        if node.op not in allowed and node.op not in library:
            path = walk.path(function, name)
            found.append((node.op, [roots[path[0].split(" (", 1)[0].lstrip("^")]] + path))
    return found


@check("SEC601")
def no_unsafe_ops(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "graph")}
        found = unsafe_ops(meta, options)
        if not found:
            yield passed(f"{format_tags(meta.tags)}: everything that runs uses allowlisted ops", **where)
            continue
        ops = sorted({op for op, _ in found})
        op, path = found[0]
        shown = " <- ".join(path)
        yield violated(
            f"{format_tags(meta.tags)}: op(s) {', '.join(ops)} would execute but are not on the allowlist "
            f"of pure compute and variable ops; e.g. {op} on the path {shown}",
            evidence=f"{len(found)} node(s)", **where)
