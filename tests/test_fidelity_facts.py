"""Fast in-process checks of the facts the genuine client would see: composite tensor
infos, pure aliases, and signature tensors naming absent nodes."""

from __future__ import annotations

from sigcheck.analysis.aliases import resolve_alias
from sigcheck.facts import protos
from sigcheck.facts.model import GraphFacts, NodeFacts
from sigcheck.facts.reader import _tensor_facts

DT_INT64, DT_FLOAT = 9, 1


def _ragged_info(dims=(-1, -1), dtype=DT_INT64):
    info = protos.TensorInfo()
    spec = info.composite_tensor.type_spec
    spec.type_spec_class = protos.RAGGED_TENSOR_SPEC
    spec.type_spec_class_name = "RaggedTensorSpec"
    values = spec.type_state.tuple_value.values
    shape = values.add().tensor_shape_value
    for d in dims:
        shape.dim.add(size=d)
    values.add().tensor_dtype_value = dtype
    values.add().int64_value = 1
    values.add().tensor_dtype_value = DT_INT64
    for name in ("RaggedPlaceholder/flat_values:0", "RaggedPlaceholder/row_splits_0:0"):
        info.composite_tensor.components.add(name=name, dtype=DT_INT64)
    return info


def test_a_ragged_tensor_info_reads_as_the_client_shows_it():
    tensor = _tensor_facts("default", _ragged_info())
    assert (tensor.encoding, tensor.dtype, tensor.shape) == ("ragged", "int64", (None, None))
    assert tensor.describe() == "ragged int64 [?, ?]"
    assert tensor.components == ("RaggedPlaceholder/flat_values:0", "RaggedPlaceholder/row_splits_0:0")


def test_a_composite_sparse_tensor_info_is_sparse():
    info = protos.TensorInfo()
    spec = info.composite_tensor.type_spec
    spec.type_spec_class = protos.SPARSE_TENSOR_SPEC
    values = spec.type_state.tuple_value.values
    values.add().tensor_shape_value.dim.add(size=-1)
    values[0].tensor_shape_value.dim.add(size=5)
    values.add().tensor_dtype_value = DT_FLOAT
    tensor = _tensor_facts("regions", info)
    assert (tensor.encoding, tensor.dtype, tensor.shape) == ("sparse", "float32", (None, 5))


def test_an_unknown_composite_keeps_what_the_tensor_info_says():
    info = protos.TensorInfo(dtype=DT_FLOAT)
    info.composite_tensor.type_spec.type_spec_class_name = "SomethingNew"
    tensor = _tensor_facts("x", info)
    assert (tensor.encoding, tensor.dtype, tensor.shape) == ("composite", "float32", None)


def test_coo_sparse_lists_its_three_tensors():
    info = protos.TensorInfo(dtype=DT_FLOAT)
    info.coo_sparse.values_tensor_name = "v:0"
    info.coo_sparse.indices_tensor_name = "i:0"
    info.coo_sparse.dense_shape_tensor_name = "s:0"
    tensor = _tensor_facts("regions", info)
    assert tensor.encoding == "sparse" and tensor.components == ("v:0", "i:0", "s:0")


def _graph(*nodes):
    return GraphFacts(nodes=tuple(NodeFacts(name, op, tuple(inputs)) for name, op, inputs in nodes))


def test_aliases_are_looked_through_and_computations_are_not():
    graph = _graph(
        ("pool", "Mean", ["relu", "axes"]),
        ("stop", "StopGradient", ["pool"]),
        ("alias", "Identity", ["stop", "^init"]),
        ("pair", "IdentityN", ["other", "alias"]),
        ("snap", "Snapshot", ["pair:1"]),
        ("scaled", "Mul", ["pool", "two"]),
    )
    assert resolve_alias(graph, "snap:0") == "pool:0"
    assert resolve_alias(graph, "pair:0") == "other:0"
    assert resolve_alias(graph, "scaled:0") == "scaled:0"
    assert resolve_alias(graph, "pool") == "pool:0"


def test_a_cycle_of_aliases_ends():
    graph = _graph(("a", "Identity", ["b"]), ("b", "Identity", ["a"]))
    assert resolve_alias(graph, "a:0") in ("a:0", "b:0")
