"""The variables of a graph and of its checkpoint, as hub.Module would pair them.

hub.Module restores only the variables listed in the GLOBAL_VARIABLES
collection ("variables": VariableDef messages) from ``variables/``, under
their op name -- or, for a slice of a partitioned variable, under the full
variable's name.  A variable op outside that collection is never restored
and stays uninitialised.
"""

from __future__ import annotations

from typing import Optional

from google.protobuf.message import DecodeError

from . import protos
from ..record import record

VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})
GLOBAL_VARIABLES = "variables"


@record
class VariableFacts:
    name: str  # the variable op's name
    dtype: str
    shape: Optional[tuple]
    in_collection: bool  # listed in GLOBAL_VARIABLES, so hub.Module restores it
    checkpoint_key: str = ""  # the name it is stored under
    checkpoint_shape: Optional[tuple] = None  # the full shape of a partitioned variable


def graph_variables(meta_graph, nodes: tuple, global_variables=None) -> tuple:
    """VariableFacts for every variable op of ``meta_graph`` (a MetaGraphDef proto).

    ``nodes`` are the graph's NodeFacts, in graph_def order: only the variable
    ops among them are looked up again in the protobuf, which is slow to walk.
    ``global_variables``: the GLOBAL_VARIABLES collection's VariableDefs when the caller
    parsed them already (parsed_variable_defs), else they are parsed here."""
    listed = _collection_variables(meta_graph, global_variables)
    found = []
    protos_nodes = meta_graph.graph_def.node
    for index in (i for i, n in enumerate(nodes) if n.op in VARIABLE_OPS):
        node = protos_nodes[index]
        name, attr = node.name, node.attr
        dtype = attr.get("dtype")
        dtype = 0 if dtype is None else dtype.type
        shape = attr.get("shape")
        shape = None if shape is None else shape.shape
        key, full_shape = listed.get(name, (name, None))
        found.append(VariableFacts(  # positional: ~750 of them in a large module (record's fast path)
            name,  # name
            protos.dtype_name(dtype % 100 if dtype > 100 else dtype),  # dtype
            None if shape is None or shape.unknown_rank else tuple(
                None if d.size < 0 else d.size for d in shape.dim),  # shape
            name in listed,  # in_collection
            key,  # checkpoint_key
            full_shape,  # checkpoint_shape
        ))
    return tuple(found)


def parsed_variable_defs(collection):
    """The VariableDef protos of a variables collection, in order.  Entries that do not
    parse are left out: TensorFlow's import fails on them, so nothing would use them."""
    if collection is None or collection.WhichOneof("kind") != "bytes_list":
        return
    for raw in collection.bytes_list.value[:]:  # one C slice: faster than iterating the repeated field
        variable = protos.VariableDef()
        try:
            variable.ParseFromString(raw)
        except (DecodeError, RuntimeError, ValueError):
            continue
        yield variable


def _collection_variables(meta_graph, parsed=None) -> dict:
    """op name -> (checkpoint key, full shape or None) for GLOBAL_VARIABLES entries."""
    listed = {}
    if parsed is None:
        parsed = parsed_variable_defs(meta_graph.collection_def.get(GLOBAL_VARIABLES))
    for variable in parsed:
        name = variable.variable_name.split(":", 1)[0]
        sliced = variable.save_slice_info_def
        if sliced.full_name:
            listed[name] = (sliced.full_name, tuple(sliced.full_shape))
        else:
            listed[name] = (name, None)
    return listed
