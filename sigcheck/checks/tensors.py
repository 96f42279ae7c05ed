"""HUB106: every signature tensor names a node of its own tag set's graph.

A TensorInfo is only a name; hub.Module looks it up in the graph of the tag
set it loads and fails there if it is missing.  That is visible in the files
already, so it is reported statically -- including a name that exists only in
another tag set's graph, which works in one graph and breaks in the other.
"""

from __future__ import annotations

from ..facts.model import format_tags
from . import check, location, passed, violated

_SHOWN = 3


@check("HUB106")
def signature_tensors(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "signatures")}
        missing = [_missing_text(ctx.facts, meta, signature.name, kind, tensor.key, name)
                   for signature, kind, tensor, name in _tensor_names(meta)
                   if name.split(":", 1)[0] not in meta.graph.by_name]
        if missing:
            more = f" (+{len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
            yield violated(f"{format_tags(meta.tags)}: " + "; ".join(missing[:_SHOWN]) + more
                           + "; hub.Module would fail to look them up", **where)
        else:
            count = sum(1 for _ in _tensor_names(meta))
            yield passed(f"{format_tags(meta.tags)}: all {count} signature tensor(s) name nodes of the graph",
                         **where)


def _tensor_names(meta):
    for signature in meta.signatures:
        for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
            for tensor in tensors:
                for name in tensor.components:
                    yield signature, kind, tensor, name


def _missing_text(facts, meta, signature: str, kind: str, key: str, name: str) -> str:
    op = name.split(":", 1)[0]
    elsewhere = [format_tags(m.tags) for m in facts.meta_graphs if m is not meta and op in m.graph.by_name]
    where = f"only in the graph of {', '.join(elsewhere)}" if elsewhere else "in no graph of the module"
    return f"{signature} {kind} '{key}' is {name}, a node that is not in this graph ({where})"
