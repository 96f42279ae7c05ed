"""Evidence of dropout on an output: a static trace of the graph and a test of repeated runs.

Static: walk back from the outputs, stopping at the last real computation
(matmul, conv, pool, mean...).  Dropout shows in that region as a random op
plus a mask op (GreaterEqual, Floor, Select...) or as a ``dropout`` name
scope; dropout deeper inside is beyond the stop and therefore allowed.

Dynamic: the same batch run several times.  Inverted dropout on the output
makes each element either 0 or one fixed value (x / keep_prob) across runs;
dropout deeper inside changes values densely.
"""

from __future__ import annotations

from ..facts.graph import walk_back
from ..facts.image import DEFAULT

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
    region = walk_back(meta.graph, outputs, stop_ops=frozenset(compute), control=False).nodes
    inside = [n for n in region if n.op not in compute]
    random = [n for n in inside if n.op in options["random_ops"]]
    masks = [n for n in inside if n.op in options["mask_ops"]]
    scoped = [n for n in inside if "dropout" in n.name.lower().split("/")[:-1]]
    last = sorted({f"{n.name} ({n.op})" for n in region if n.op in compute and n.op not in _LEAF_OPS})
    evidence = []
    if random and masks:
        evidence.append(f"random op {random[0].name} ({random[0].op}) with mask op {masks[0].name} ({masks[0].op})")
    if scoped:
        evidence.append(f"ops in a dropout scope, e.g. {scoped[0].name} ({scoped[0].op})")
    return evidence, last


def dynamic_dropout(runs, share_needed: float):
    """(looks like output dropout, description) for outputs of the same batch, shape [R, ...]."""
    import numpy as np

    runs = runs.reshape(len(runs), -1)
    scale = float(np.nanmax(np.abs(runs))) if np.isfinite(runs).any() else 0.0
    tiny = 1e-6 * scale + 1e-12
    varying = np.ptp(runs, axis=0) > tiny
    if not varying.any():
        return False, f"{len(runs)} runs of the same batch give identical outputs"
    columns = runs[:, varying]
    zero = np.abs(columns) <= tiny
    nonzero_values = np.where(zero, np.nan, columns)
    spread = np.nanmax(nonzero_values, axis=0) - np.nanmin(nonzero_values, axis=0)
    pattern = zero.any(axis=0) & ~zero.all(axis=0) & (spread <= 1e-4 * scale + tiny)
    share = float(pattern.mean())
    text = (f"{int(varying.sum())} of {varying.size} output elements change across {len(runs)} runs of the same "
            f"batch; {share:.0%} of them are either 0 or one fixed value")
    return share >= share_needed, text
