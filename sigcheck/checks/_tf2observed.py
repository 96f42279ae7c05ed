"""Reading a TF2 model's runtime observations: its ``__call__`` and ``hub.KerasLayer`` groups.

The runtime plans a TF2 model like a one-tag-set module whose "signatures" are
``__call__`` and ``hub.KerasLayer`` (``sigcheck.probes.TF2_CALL`` /
``TF2_KERAS_LAYER``), so ``_observed.observed`` reads them.  The image probes
of ``__call__`` run with ``training=False`` except ``DROPOUT`` (``training=True``)
and ``RESIZED`` (a second image size): ``inference`` leaves those two out, so
the TF1 rules' logic (determinism, batch independence...) sees the inference
mode at one size, as in a TF1 module's inference graph.
"""

from __future__ import annotations


from ..facts.tf2 import CALL, object_graph
from ..probes import DROPOUT, RESIZED, TF2_CALL, TF2_KERAS_LAYER
from ..record import replace
from ._observed import Observed, observed

WHERE = {"location": f"objects/{CALL}"}
KERAS_WHERE = {"location": "objects"}  # hub.KerasLayer wraps the root object
NOT_INFERENCE = (DROPOUT, RESIZED)


def tf2_tags(ctx) -> tuple:
    """The tags of the meta graph that records the object graph (the one TF2 writes)."""
    return next((m.tags for m in ctx.facts.meta_graphs if m.object_graph is not None), ctx.primary.tags)


def call_observed(ctx, *, every_probe: bool = False) -> Observed:
    """The ``__call__`` group's probes; only the inference-mode ones at the group's size unless ``every_probe``."""
    seen = observed(ctx, tf2_tags(ctx), TF2_CALL)
    if seen.probes is None or every_probe:
        return seen
    return replace(seen, probes={n: p for n, p in seen.probes.items() if n not in NOT_INFERENCE})


def keras_observed(ctx) -> Observed:
    return observed(ctx, tf2_tags(ctx), TF2_KERAS_LAYER)


def each_call_default(ctx):
    """(None, where, Observed) for ``__call__``: each_default_observed's answer for a TF2 image model."""
    yield None, dict(WHERE), call_observed(ctx)


def group_size(ctx, name: str = TF2_CALL) -> tuple:
    """(height, width) the group was fed at, or ()."""
    tag_plan = ctx.observations.plan.for_tags(tf2_tags(ctx)) if ctx.observations is not None else None
    group = tag_plan.group_for(name) if tag_plan else None
    return (group.height, group.width) if group else ()


def listed_trainable(ctx) -> int:
    """How many variables of the root's ``variables`` list are trainable (read from the object graph)."""
    graph = object_graph(ctx.facts)
    holder = graph.child(graph.root, "variables") if graph is not None else None
    return sum(1 for n in graph.elements(holder) if n.variable is not None and n.variable.trainable) \
        if holder is not None else 0
