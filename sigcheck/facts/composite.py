"""Read composite TensorInfos (ragged and sparse) the way the TF1 Hub client does.

A ragged tensor's TensorInfo carries no dtype or shape of its own: the client
decodes the TypeSpec stored in ``composite_tensor.type_spec`` and reports its
dtype and shape (a ragged int64 batch of rows is ``int64 [None, None]``).  The
TypeSpec's state is a StructuredValue tuple: ``(shape, dtype, ...)`` for both
RaggedTensorSpec and SparseTensorSpec.  Anything else keeps what the TensorInfo
itself says, so an unknown composite is still shown, as "composite".
"""

from __future__ import annotations

from typing import NamedTuple

from . import protos


class CompositeInfo(NamedTuple):
    encoding: str  # "ragged" | "sparse" | "composite"
    dtype: int  # tensorflow.DataType value
    shape: object  # TensorShapeProto, or None when the spec does not say


_ENCODINGS = {protos.RAGGED_TENSOR_SPEC: "ragged", protos.SPARSE_TENSOR_SPEC: "sparse"}
_CLASS_NAMES = {"RaggedTensorSpec": "ragged", "SparseTensorSpec": "sparse"}


def composite_info(info) -> CompositeInfo:
    """Encoding, dtype and shape of a TensorInfo with the composite_tensor encoding."""
    spec = info.composite_tensor.type_spec
    encoding = _ENCODINGS.get(spec.type_spec_class) or _CLASS_NAMES.get(spec.type_spec_class_name, "composite")
    state = spec.type_state
    values = state.tuple_value.values if state.WhichOneof("kind") == "tuple_value" else ()
    if encoding == "composite" or len(values) < 2:
        return CompositeInfo(encoding, info.dtype, info.tensor_shape if info.HasField("tensor_shape") else None)
    shape = values[0].tensor_shape_value if values[0].WhichOneof("kind") == "tensor_shape_value" else None
    dtype = values[1].tensor_dtype_value if values[1].WhichOneof("kind") == "tensor_dtype_value" else info.dtype
    return CompositeInfo(encoding, dtype, shape)


def component_names(info) -> tuple:
    """Names of the dense tensors a composite TensorInfo is made of."""
    return tuple(c.name for c in info.composite_tensor.components if c.name)
