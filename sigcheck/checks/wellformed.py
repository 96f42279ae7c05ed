"""HUB107: every node is one TensorFlow can build (so far: Const values).

The reader records why a node could not be built (``NodeFacts.problem``);
this only gathers those per meta graph, graph nodes first, then each library
function's, so that a corrupted file gets a verdict instead of a crash.
"""

from __future__ import annotations

from ..facts.model import format_tags
from . import check, location, passed, violated

_SHOWN = 3  # problems quoted in a message; the evidence counts them all


def malformed_nodes(graph) -> list:
    """``"name (Op): why"`` for every malformed node of ``graph`` and its functions."""
    found = [f"{n.name} ({n.op}): {n.problem}" for n in graph.nodes if n.problem]
    for function in graph.functions:
        found.extend(f"{function.name}:{n.name} ({n.op}): {n.problem}" for n in function.nodes if n.problem)
    return found


@check("HUB107")
def well_formed_graph(ctx, options):
    for meta in ctx.facts.meta_graphs:
        where = {"tags": meta.tags, "location": location(meta.tags, "graph")}
        found = malformed_nodes(meta.graph)
        if not found:
            yield passed(f"{format_tags(meta.tags)}: every Const value has a shape and data TensorFlow accepts",
                         **where)
            continue
        more = f"; and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        yield violated(f"{format_tags(meta.tags)}: TensorFlow cannot build node(s) " + "; ".join(found[:_SHOWN])
                       + more, evidence=f"{len(found)} node(s)", **where)
