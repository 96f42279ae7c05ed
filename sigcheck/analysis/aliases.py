"""Which tensor a name really stands for, looking through pure aliases.

``default`` and a named image signature are the same computation when their
tensors are the same after skipping ops that only forward a value (Identity
and friends); any other op in between is a different computation.
"""

from __future__ import annotations

from typing import Optional

PURE_ALIASES = frozenset({"Identity", "IdentityN", "StopGradient", "Snapshot"})


def _split(tensor: str) -> tuple:
    op, _, index = tensor.partition(":")
    return op, int(index) if index.isdigit() else 0


def resolve_alias(graph, tensor: Optional[str]) -> Optional[str]:
    """``op:index`` of the tensor that ``tensor`` forwards unchanged (itself if none)."""
    if tensor is None:
        return None
    op, index = _split(tensor)
    for _ in range(len(graph.nodes) + 1):  # bounded: a cycle of aliases cannot loop forever
        node = graph.by_name.get(op)
        if node is None or node.op not in PURE_ALIASES:
            break
        data = [raw for raw in node.inputs if not raw.startswith("^")]
        position = index if node.op == "IdentityN" else 0
        if position >= len(data) or (node.op != "IdentityN" and index != 0):
            break
        op, index = _split(data[position])
    return f"{op}:{index}"
