"""Which format a module is in, and what kind of TF2 model it is: derived facts, no TensorFlow.

Formats (the report's ``facts.module_format``; rules declare the ones they apply to):

- ``tf1-hub``: ``tfhub_module.pb`` is present -- the TF1 Hub format, whatever
  else the SavedModel holds (``hub.load`` reads such a module as TF1 Hub);
- ``tf2-saved-model``: no ``tfhub_module.pb`` and a meta graph records an object
  graph (``tf.saved_model.save``), consumed with ``hub.load`` / ``hub.KerasLayer``;
- ``tf1-saved-model``: a plain TF1 SavedModel without hub metadata.

Kinds of a TF2 model, from the inputs of the root's ``__call__`` traces:
``image`` when every trace takes one rank-4 tensor whose last dimension is 3
(whatever its dtype: a uint8 image model is an image model that breaks the
input rule), ``text`` when every trace takes one rank-1 string tensor
(embedding or preprocessor) or one dict of integer tensors (an encoder),
``other`` otherwise, and ``other`` for a model without ``__call__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .objects import ConcreteFunction, ObjectGraph

TF1_HUB = "tf1-hub"
TF2_SAVED_MODEL = "tf2-saved-model"
TF1_SAVED_MODEL = "tf1-saved-model"
FORMATS = (TF1_HUB, TF2_SAVED_MODEL, TF1_SAVED_MODEL)
TF1_FORMATS = (TF1_HUB, TF1_SAVED_MODEL)
# The TF2 text APIs ("Common SavedModel APIs for Text"): what a TF2 text model offers, and what a
# text rule with ``api`` in its metadata judges (models offering another API skip it).
TF2_TEXT_APIS = ("embedding", "preprocessor", "encoder")
CALL = "__call__"
INTEGER_DTYPES = ("int32", "int64")
# Children of a reusable SavedModel's root with a meaning of their own (not sub-callables).
RESERVED_CHILDREN = ("__call__", "variables", "trainable_variables", "regularization_losses", "signatures",
                     "keras_api", "_default_save_signature")


def module_format(facts) -> str:
    """``tf1-hub``, ``tf2-saved-model`` or ``tf1-saved-model`` (see the module docstring)."""
    if facts.module_def.present:
        return TF1_HUB
    if object_graph(facts) is not None:
        return TF2_SAVED_MODEL
    return TF1_SAVED_MODEL


def object_graph(facts) -> Optional[ObjectGraph]:
    """The object graph of the first meta graph that records one (TF2 writes one meta graph)."""
    return next((m.object_graph for m in facts.meta_graphs if m.object_graph is not None), None)


def call_traces(facts) -> Optional[tuple]:
    """The concrete functions of the root's ``__call__``; None when there is no ``__call__`` function."""
    graph = object_graph(facts)
    call = None if graph is None else graph.child(graph.root, CALL)
    if call is None or call.kind not in ("function", "bare_concrete_function"):
        return None
    return graph.traces(call)


def single_input(trace: ConcreteFunction):
    """The one tensor argument of a trace (a spec or a structure of specs), or None."""
    inputs = trace.inputs
    return inputs[0] if len(inputs) == 1 else None


def tf2_kind(facts) -> str:
    """``image``, ``text`` or ``other`` for a TF2 model (see the module docstring)."""
    traces = call_traces(facts)
    if not traces:
        return "other"
    found = {_input_kind(single_input(t)) for t in traces}
    return found.pop() if len(found) == 1 else "other"


def _input_kind(value) -> str:
    from .objects import StructDict, TensorSpec  # only a TF2 model gets here: a TF1 check never imports them
    if isinstance(value, TensorSpec) and value.shape is not None:
        if len(value.shape) == 4 and value.shape[-1] == 3:
            return "image"
        if len(value.shape) == 1 and value.dtype == "string":
            return "text"
    if isinstance(value, StructDict) and value.items and all(
            isinstance(v, TensorSpec) and v.dtype in INTEGER_DTYPES for _, v in value.items):
        return "text"
    return "other"


def leaves(value) -> tuple:
    """facts.objects.leaves (imported on use: the TF1 path never needs facts.objects)."""
    from .objects import leaves as object_leaves
    return object_leaves(value)


def sub_callables(graph: ObjectGraph) -> tuple:
    """(name, object) of the root's named function children besides ``__call__`` (``tokenize``...)."""
    found = []
    for name, node_id in graph.root.children if graph.root else ():
        obj = graph.node(node_id)
        if obj is not None and obj.kind == "function" and name not in RESERVED_CHILDREN:
            found.append((name, obj))
    return tuple(found)


__all__ = ["FORMATS", "TF1_FORMATS", "TF1_HUB", "TF1_SAVED_MODEL", "TF2_SAVED_MODEL", "call_traces", "leaves",
           "module_format", "object_graph", "single_input", "sub_callables", "tf2_kind"]
