"""Read a TF2 SavedModel's object graph and fingerprint.pb into facts.objects (no TensorFlow).

Nothing here raises for odd content: a trace whose signature is not the
``(args, kwargs)`` pair TensorFlow writes is kept as unreadable, a child that
names no node leads nowhere, and an unparseable fingerprint.pb is a problem
recorded in the facts.  Structures are at most as deep as protobuf's parser
allows (100 levels), so the recursion below is bounded by the file format.
"""

from __future__ import annotations

import os

from google.protobuf.message import DecodeError

from ..errors import one_line
from . import protos
from .model import FINGERPRINT, Fingerprint
from .objects import (ConcreteFunction, ObjectGraph, SavedObject, StructDict, TensorSpec, TypeSpec,
                      Variable)

_TYPE_SPEC_KINDS = {protos.RAGGED_TENSOR_SPEC: "ragged", protos.SPARSE_TENSOR_SPEC: "sparse"}
_TYPE_SPEC_NAMES = {"RaggedTensorSpec": "ragged", "SparseTensorSpec": "sparse"}


def object_graph_facts(meta_graph):
    """The ObjectGraph of a MetaGraphDef, or None when it records none (a TF1 SavedModel)."""
    if not meta_graph.HasField("object_graph_def"):
        return None
    graph = meta_graph.object_graph_def
    return ObjectGraph(
        nodes=tuple(_object(i, node) for i, node in enumerate(graph.nodes)),
        concrete_functions=tuple(_concrete_function(name, graph.concrete_functions[name])
                                 for name in sorted(graph.concrete_functions)),
    )


def _object(node_id: int, node) -> SavedObject:
    kind = node.WhichOneof("kind") or "unknown"
    children = tuple((c.local_name, c.node_id) for c in node.children)
    if kind == "function":
        return SavedObject(node_id, kind, children, concrete_functions=tuple(node.function.concrete_functions))
    if kind == "bare_concrete_function":
        return SavedObject(node_id, kind, children,
                           concrete_functions=(node.bare_concrete_function.concrete_function_name,))
    if kind == "variable":
        v = node.variable
        return SavedObject(node_id, kind, children, variable=Variable(v.name, protos.dtype_name(v.dtype),
                                                                      shape(v.shape), v.trainable))
    if kind == "asset":
        return SavedObject(node_id, kind, children, asset_index=node.asset.asset_file_def_index)
    if kind == "constant":
        return SavedObject(node_id, kind, children, constant=node.constant.operation)
    if kind == "user_object":
        return SavedObject(node_id, kind, children, identifier=node.user_object.identifier)
    return SavedObject(node_id, kind, children)


def _concrete_function(name: str, function) -> ConcreteFunction:
    signature = structure(function.canonicalized_input_signature)
    outputs = structure(function.output_signature)
    bound = tuple(function.bound_inputs)
    if (isinstance(signature, tuple) and len(signature) == 2 and isinstance(signature[0], tuple)
            and isinstance(signature[1], StructDict)):
        return ConcreteFunction(name, signature[0], signature[1], outputs, bound)
    return ConcreteFunction(name, (), StructDict(()), outputs, bound, readable=False)


def structure(value):
    """A StructuredValue as builtins and facts.objects specs (see that module)."""
    kind = value.WhichOneof("kind")
    if kind in ("list_value", "tuple_value"):
        return tuple(structure(v) for v in getattr(value, kind).values)
    if kind == "dict_value":
        fields = value.dict_value.fields
        return StructDict(tuple((k, structure(fields[k])) for k in sorted(fields)))
    if kind == "named_tuple_value":
        return StructDict(tuple(sorted((p.key, structure(p.value)) for p in value.named_tuple_value.values)))
    if kind == "tensor_spec_value":
        spec = value.tensor_spec_value
        return TensorSpec(spec.name, protos.dtype_name(spec.dtype), shape(spec.shape))
    if kind == "type_spec_value":
        return _type_spec(value.type_spec_value)
    if kind == "tensor_shape_value":
        return shape(value.tensor_shape_value)
    if kind == "tensor_dtype_value":
        return protos.dtype_name(value.tensor_dtype_value)
    if kind in ("bool_value", "int64_value", "float64_value", "string_value"):
        return getattr(value, kind)
    return None


def _type_spec(spec) -> TypeSpec:
    kind = (_TYPE_SPEC_KINDS.get(spec.type_spec_class) or _TYPE_SPEC_NAMES.get(spec.type_spec_class_name)
            or spec.type_spec_class_name or f"type_spec({spec.type_spec_class})")
    state = structure(spec.type_state)
    if kind not in ("ragged", "sparse") or not isinstance(state, tuple) or len(state) < 2:
        return TypeSpec(kind)
    dims = state[0] if isinstance(state[0], tuple) or state[0] is None else None
    dtype = state[1] if isinstance(state[1], str) else None
    ragged_rank = state[2] if kind == "ragged" and len(state) > 2 and isinstance(state[2], int) else None
    return TypeSpec(kind, dtype, dims, ragged_rank)


def shape(proto):
    if proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else d.size for d in proto.dim)


def read_fingerprint(directory: str) -> Fingerprint:
    path = os.path.join(directory, FINGERPRINT)
    if not os.path.isfile(path):
        return Fingerprint(present=False)
    message = protos.FingerprintDef()
    try:
        with open(path, "rb") as f:
            message.ParseFromString(f.read())
    except (DecodeError, RuntimeError, ValueError, OSError) as exc:
        return Fingerprint(present=True, problem=one_line(exc) or "does not parse as a FingerprintDef")
    return Fingerprint(True, None, message.saved_model_checksum, message.saved_object_graph_hash,
                       message.checkpoint_hash, message.version.producer, message.uuid)
