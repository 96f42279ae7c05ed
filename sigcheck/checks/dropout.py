"""OUT405: no dropout between `default` and the last real computation.

Static half: walk each tag set's graph backwards from the `default` outputs,
stopping at the last real computation (matmul, conv, pool, mean...).  Dropout
shows in that region as a random op plus a mask op (GreaterEqual, Floor,
Select...) or as a ``dropout`` name scope.  Dropout deeper inside is beyond
the stop and therefore allowed.
"""

from __future__ import annotations

from ..facts.graph import walk_back
from ..facts.image import DEFAULT
from ..facts.model import format_tags
from . import check, location, passed, skipped, violated

# Stops of the trace that are not computations, left out of messages.
_LEAF_OPS = {"Const", "Placeholder", "PlaceholderWithDefault", "VariableV2", "VarHandleOp", "ReadVariableOp"}


def static_dropout(meta, signature_names, options):
    """(evidence, last computations) of dropout on `default` in one meta graph."""
    compute = set(options["compute_ops"])
    outputs = []
    for name in signature_names:
        signature = meta.signature(name)
        tensor = signature.output(DEFAULT) if signature else None
        if tensor is not None and tensor.name:
            outputs.append(tensor.name)
    region = walk_back(meta.graph, outputs, stop=lambda n: n.op in compute, control=False)
    inside = [v.node for v in region if v.node.op not in compute]
    random = [n for n in inside if n.op in options["random_ops"]]
    masks = [n for n in inside if n.op in options["mask_ops"]]
    scoped = [n for n in inside if "dropout" in n.name.lower().split("/")[:-1]]
    last = sorted({f"{v.node.name} ({v.node.op})" for v in region
                   if v.node.op in compute and v.node.op not in _LEAF_OPS})
    evidence = []
    if random and masks:
        evidence.append(f"random op {random[0].name} ({random[0].op}) with mask op {masks[0].name} ({masks[0].op})")
    if scoped:
        evidence.append(f"ops in a dropout scope, e.g. {scoped[0].name} ({scoped[0].op})")
    return evidence, last


@check("OUT405")
def no_output_dropout(ctx, options):
    names = [s.name for s in ctx.image_signatures]
    for meta in ctx.facts.meta_graphs:
        present = [n for n in names if meta.signature(n) is not None]
        where = {"tags": meta.tags, "location": location(meta.tags, "signatures", present[0] if present else "",
                                                         "outputs", DEFAULT)}
        if not present:
            yield skipped(f"{format_tags(meta.tags)} has none of the image signatures (see HUB103)", **where)
            continue
        evidence, last = static_dropout(meta, present, options)
        stop = ", ".join(last[:3]) or "the inputs"
        if evidence:
            yield violated(
                f"{format_tags(meta.tags)}: dropout between 'default' and the last computation ({stop}): "
                + "; ".join(evidence), evidence="static trace", **where)
        else:
            yield passed(f"{format_tags(meta.tags)}: no dropout between 'default' and {stop}",
                         evidence="static trace", **where)
