"""Variables of a loaded graph the way hub.Module sees them (worker side).

Counting ``global_variables()`` alone misses a variable op that is not in
GLOBAL_VARIABLES: hub.Module never restores such a variable, so the loader
would run the graph on an uninitialised value.  The ops themselves are
counted, as the static variable facts count them.
"""

from __future__ import annotations

VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})


def variable_ops(graph) -> list:
    return [op.name for op in graph.get_operations() if op.type in VARIABLE_OPS]


def outside_global_variables(tf, graph) -> list:
    """Names of variable ops the loader would leave uninitialised."""
    with graph.as_default():
        listed = {v.op.name for v in tf.compat.v1.global_variables()}
    return [name for name in variable_ops(graph) if name not in listed]


def describe_outside(names: list, total: int) -> str:
    shown = ", ".join(names[:3]) + (f", +{len(names) - 3} more" if len(names) > 3 else "")
    return (f"{len(names)} of {total} variable(s) are not in GLOBAL_VARIABLES ({shown}): hub.Module would leave "
            "them uninitialised")
