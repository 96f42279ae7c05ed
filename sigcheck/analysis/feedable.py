"""Why a signature cannot be fed synthetic images, from facts alone.

Shared by the runtime planner (which leaves such signatures out and files the
reason) and, through the observations, the runtime checks that report it.  The
reasons point at the static rule that reports the underlying defect.
"""

from __future__ import annotations

from ..facts.image import DEFAULT
from ..facts.model import format_shape

FLOAT_DTYPES = ("float32", "float16", "float64", "bfloat16")
INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64", "uint16")
NO_GRAPH_TO_RUN = "no meta graph to run (see HUB102)"


def why_unfeedable(meta, signature, tensor, size):
    """Why ``signature`` (image input ``tensor``, synthetic size ``size``) cannot run, or None."""
    return _why_unrunnable(signature, tensor, size) or absent_tensor(meta, signature)


def absent_tensor(meta, signature):
    """Why a signature naming a node its graph lacks cannot be fetched (HUB106 reports it)."""
    for tensor in signature.inputs + signature.outputs:
        for name in tensor.components:
            if name.split(":", 1)[0] not in meta.graph.by_name:
                return f"'{tensor.key}' is {name}, which is not in the graph (see HUB106)"
    return None


def _why_unrunnable(signature, tensor, size):
    if tensor is None:
        return "no image input identified (see IMG301)"
    if tensor.encoding != "dense" or not tensor.name:
        return f"'{tensor.key}' is a {tensor.encoding} tensor (see IMG302)"
    if tensor.dtype not in FLOAT_DTYPES + INT_DTYPES:
        return f"'{tensor.key}' is {tensor.dtype}: no synthetic image can be fed (see IMG302)"
    shape = tensor.shape
    if shape is None or len(shape) != 4 or shape[3] not in (3, None):
        return f"'{tensor.key}' is {format_shape(shape)}, not [batch, height, width, 3] (see IMG303)"
    if size is None:
        return f"'{tensor.key}' is {format_shape(shape)} and no image size resolves (see IMG305/IMG306)"
    if signature.output(DEFAULT) is None:
        return "no 'default' output to observe (see OUT401)"
    return None


def why_unfeedable_text(meta, signature) -> str:
    """Why synthetic strings cannot be fed to ``signature``, or None."""
    if signature is None:
        return "no 'default' signature (see SIG201)"
    if len(signature.inputs) != 1:
        return f"{len(signature.inputs)} inputs, not one text input (see TXT701)"
    tensor = signature.inputs[0]
    if tensor.encoding != "dense" or not tensor.name:
        return f"'{tensor.key}' is a {tensor.encoding} tensor (see TXT701)"
    if tensor.dtype != "string":
        return f"'{tensor.key}' is {tensor.dtype}: synthetic text is fed only to string inputs (see TXT702)"
    if tensor.shape is None or len(tensor.shape) != 1:
        return f"'{tensor.key}' is {format_shape(tensor.shape)}, not [batch] (see TXT703)"
    if signature.output(DEFAULT) is None:
        return "no 'default' output to observe (see TXT704)"
    return absent_tensor(meta, signature)
