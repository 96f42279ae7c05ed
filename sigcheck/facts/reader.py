"""Read a module directory into ModuleFacts with protobuf only (no TensorFlow).

Only what makes the module unreadable as a whole raises ReadError (exit 2):
no directory, no ``saved_model.pb`` or one that does not parse.  Everything
else -- a missing or garbage ``tfhub_module.pb``, odd collections, broken
attachments -- is recorded as facts for the rules to judge.
"""

from __future__ import annotations

import os
import struct

from google.protobuf.message import DecodeError

from ..errors import ReadError, one_line
from . import protos
from ..record import replace
from .assets import read_assets
from .checkpoint import CheckpointError, read_index
from .collector import collector_paused
from .composite import composite_info
from .graph import mark_shared
from .model import (
    FINGERPRINT,
    AttachmentFacts,
    CollectionFacts,
    Fingerprint,
    FunctionFacts,
    GraphFacts,
    ImageSize,
    MetaGraphFacts,
    ModuleDefFacts,
    ModuleFacts,
    NodeFacts,
    SignatureFacts,
    TensorFacts,
    VariableDefFacts,
)
from .variables import GLOBAL_VARIABLES, graph_variables, parsed_variable_defs

SAVED_MODEL = "saved_model.pb"
MODULE_DEF = "tfhub_module.pb"
ATTACHMENTS_COLLECTION = "hub_module_attachments"
IMAGE_MODULE_INFO_KEY = "image_module_info"
# Collections TensorFlow decodes as VariableDef protos (ops.register_proto_function in variables.py).
VARIABLE_COLLECTIONS = frozenset({
    "variables", "trainable_variables", "local_variables", "model_variables", "moving_average_variables",
    "metric_variables", "global_step",
})
# TF1 Hub writes one meta graph per tag set (real modules have one to three).  Most rules give a
# result per meta graph, so thousands of empty meta graphs (2 bytes each) would make a report of
# millions of results from a few kilobytes: such a file is refused as unreadable instead.
MAX_META_GRAPHS = 32


def read_module(path: str) -> ModuleFacts:
    """Parse the module directory at ``path`` into facts."""
    if not os.path.exists(path):
        raise ReadError(f"{path}: no such file or directory")
    if not os.path.isdir(path):
        raise ReadError(f"{path}: not a module directory or a .tar.gz/.tgz archive")
    saved_model_path = os.path.join(path, SAVED_MODEL)
    if not os.path.isfile(saved_model_path):
        raise ReadError(f"{path}: no {SAVED_MODEL} (not a SavedModel / TF1 Hub module directory)")
    saved_model = protos.SavedModel()
    try:
        with open(saved_model_path, "rb") as f:
            saved_model.ParseFromString(f.read())
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ReadError(f"{saved_model_path}: does not parse as a SavedModel ({_one_line(exc)})") from None
    except OSError as exc:
        raise ReadError(f"{saved_model_path}: cannot be read ({exc.strerror or exc})") from None
    index = os.path.join(path, "variables", "variables.index")
    checkpoint, problem = _read_checkpoint(index) if os.path.isfile(index) else (None, None)
    if len(saved_model.meta_graphs) > MAX_META_GRAPHS:
        raise ReadError(f"{saved_model_path}: holds {len(saved_model.meta_graphs)} meta graphs; sigcheck reads "
                        f"modules of at most {MAX_META_GRAPHS} (TF1 Hub writes one per tag set)")
    graphs: dict = {}  # node count -> [(graph_def or its bytes, GraphFacts)]: tag sets may share a graph
    with collector_paused():
        meta_graphs = tuple(_with_assets(path, m, _meta_graph_facts(m, graphs)) for m in saved_model.meta_graphs)
    return ModuleFacts(
        path=path,
        module_def=read_module_def(os.path.join(path, MODULE_DEF)),
        meta_graphs=meta_graphs,
        has_variables=os.path.isfile(index),
        checkpoint=checkpoint,
        checkpoint_problem=problem,
        fingerprint=_fingerprint(path),
    )


def _with_assets(path: str, meta_graph, facts: MetaGraphFacts) -> MetaGraphFacts:
    """``facts`` with the module's declared assets and the paths its file-reading ops are given."""
    assets, path_consts, handles = read_assets(path, meta_graph, facts.graph)
    if not assets and not path_consts and not handles:
        return facts
    return replace(facts, assets=assets, path_consts=path_consts, handles=handles)


def _read_checkpoint(index: str) -> tuple:
    """(entries, None), or (None, why variables.index cannot be read)."""
    try:
        return read_index(index), None
    except CheckpointError as exc:
        return None, str(exc)


def read_module_def(path: str) -> ModuleDefFacts:
    if not os.path.isfile(path):
        return ModuleDefFacts(present=False)
    module_def = protos.ModuleDef()
    try:
        with open(path, "rb") as f:
            module_def.ParseFromString(f.read())
    except (DecodeError, RuntimeError, ValueError, OSError) as exc:
        return ModuleDefFacts(present=True, problem=_one_line(exc) or "does not parse as a ModuleDef")
    return ModuleDefFacts(
        present=True,
        format=module_def.format,
        required_features=tuple(module_def.required_features),
    )


def _one_line(exc: BaseException) -> str:
    return one_line(exc) or type(exc).__name__


def _meta_graph_facts(meta_graph, graphs: dict) -> MetaGraphFacts:
    collections = tuple(
        _collection_facts(key, meta_graph.collection_def[key]) for key in sorted(meta_graph.collection_def)
    )
    attachments = ()
    collection = meta_graph.collection_def.get(ATTACHMENTS_COLLECTION)
    if collection is not None and collection.WhichOneof("kind") == "bytes_list":
        attachments = tuple(_attachment_facts(raw) for raw in collection.bytes_list.value)
    signatures = tuple(
        _signature_facts(name, meta_graph.signature_def[name]) for name in sorted(meta_graph.signature_def)
    )
    tags = tuple(meta_graph.meta_info_def.tags)
    graph = _shared_graph_facts(meta_graph.graph_def, graphs)
    variable_defs = _variable_defs(meta_graph.collection_def)
    return MetaGraphFacts(
        tags=tuple(sorted(set(tags))),
        signatures=signatures,
        collections=collections,
        attachments=attachments,
        graph=graph,
        restore_op=meta_graph.saver_def.restore_op_name or None,
        tags_as_written=tags,
        has_saver_def=meta_graph.HasField("saver_def"),
        saver_filename=meta_graph.saver_def.filename_tensor_name or None,
        variable_defs=tuple(VariableDefFacts(key, v.variable_name, v.snapshot_name, v.initializer_name,
                                             v.initial_value_name)
                            for key in sorted(variable_defs) for v in variable_defs[key]),
        variables=graph_variables(meta_graph, graph.nodes, variable_defs.get(GLOBAL_VARIABLES, ())),
        object_graph=_object_graph(meta_graph),
    )


def _variable_defs(collection_def) -> dict:
    """collection key -> the VariableDef protos of each variables collection present, parsed once for
    variable_defs and graph_variables (entries that do not parse are left out: TensorFlow's import
    fails on them, so nothing would run)."""
    return {key: list(parsed_variable_defs(collection_def[key])) for key in VARIABLE_COLLECTIONS & set(collection_def)}


def _collection_facts(key: str, collection) -> CollectionFacts:
    kind = collection.WhichOneof("kind")
    if kind is None:
        return CollectionFacts(key=key, kind="empty", values=(), size=0)
    values = getattr(collection, kind).value
    node_names = tuple(values) if kind == "node_list" else ()
    return CollectionFacts(key=key, kind=kind, values=node_names, size=len(values))


def _attachment_facts(raw: bytes) -> AttachmentFacts:
    attachment = protos.ModuleAttachment()
    try:
        attachment.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError) as exc:
        return AttachmentFacts(key="", size=len(raw), problem=f"not a ModuleAttachment ({_one_line(exc)})")
    if attachment.key != IMAGE_MODULE_INFO_KEY:
        return AttachmentFacts(key=attachment.key, size=len(attachment.value))
    info = protos.ImageModuleInfo()
    try:
        info.ParseFromString(attachment.value)
    except (DecodeError, RuntimeError, ValueError) as exc:
        return AttachmentFacts(
            key=attachment.key, size=len(attachment.value), problem=f"not an ImageModuleInfo ({_one_line(exc)})"
        )
    size = info.default_image_size
    return AttachmentFacts(
        key=attachment.key, size=len(attachment.value), image_size=ImageSize(size.height, size.width)
    )


def _signature_facts(name: str, signature) -> SignatureFacts:
    return SignatureFacts(
        name=name,
        method_name=signature.method_name,
        inputs=tuple(_tensor_facts(k, signature.inputs[k]) for k in sorted(signature.inputs)),
        outputs=tuple(_tensor_facts(k, signature.outputs[k]) for k in sorted(signature.outputs)),
    )


def _tensor_facts(key: str, info) -> TensorFacts:
    encoding = info.WhichOneof("encoding")
    if encoding == "coo_sparse":
        sparse = info.coo_sparse
        return TensorFacts(
            key, sparse.values_tensor_name or None, protos.dtype_name(info.dtype),
            _shape(info.tensor_shape), "sparse", _component_names(info),
        )
    if encoding == "composite_tensor":
        found = composite_info(info)
        shape = None if found.shape is None else _shape(found.shape)
        return TensorFacts(key, None, protos.dtype_name(found.dtype), shape, found.encoding, _component_names(info))
    return TensorFacts(key, info.name or None, protos.dtype_name(info.dtype), _shape(info.tensor_shape),
                       components=_component_names(info))


def _component_names(info) -> tuple:
    """Every tensor name inside a (possibly nested) TensorInfo, iteratively."""
    names, stack = [], [info]
    while stack:
        current = stack.pop()
        which = current.WhichOneof("encoding")
        if which == "name":
            names.append(current.name)
        elif which == "coo_sparse":
            sparse = current.coo_sparse
            names += [sparse.values_tensor_name, sparse.indices_tensor_name, sparse.dense_shape_tensor_name]
        elif which == "composite_tensor":
            stack.extend(reversed(current.composite_tensor.components))
    return tuple(names)


def _shape(shape_proto):
    if shape_proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else d.size for d in shape_proto.dim)


def _shared_graph_facts(graph_def, graphs: dict) -> GraphFacts:
    """GraphFacts of ``graph_def``, one object for meta graphs whose graph_defs are byte-identical
    (marked shared, so that walks over it are memoised: facts/graph.py).  Only graphs of equal node
    counts are serialized to compare them."""
    twins = graphs.setdefault(len(graph_def.node), [])
    if twins:
        key = graph_def.SerializeToString(deterministic=True)
        for index, (other, graph) in enumerate(twins):
            if not isinstance(other, bytes):
                other = other.SerializeToString(deterministic=True)
                twins[index] = (other, graph)
            if other == key:
                mark_shared(graph)
                return graph
    graph = _graph_facts(graph_def)
    twins.append((graph_def, graph))
    return graph


def _graph_facts(graph_def) -> GraphFacts:
    # Without a library no attribute can name a function that exists, so only the
    # call ops' targets are read (judged as ops); with one, every attribute of every
    # node is searched.  Searching all costs ~3x the read of a large graph.
    every = len(graph_def.library.function) > 0
    return GraphFacts(
        nodes=_nodes_facts(graph_def.node, every),
        functions=tuple(
            FunctionFacts(f.signature.name, _nodes_facts(f.node_def, True),
                          tuple(a.name for a in f.signature.input_arg))
            for f in graph_def.library.function
        ),
    )


# Ops whose attributes name what they call.  In a graph without a library, a name
# they call is no function, and SEC601 judges it as the op TensorFlow would run.
FUNCTION_CALLING_OPS = frozenset({
    "PartitionedCall", "StatefulPartitionedCall", "If", "StatelessIf", "While", "StatelessWhile",
    "Case", "StatelessCase", "For", "RemoteCall", "SymbolicGradient",
})


def _fingerprint(directory: str) -> Fingerprint:
    """fingerprint.pb's facts; facts.object_reader (TF2 facts) is imported only when the file is there."""
    if not os.path.isfile(os.path.join(directory, FINGERPRINT)):
        return Fingerprint(present=False)
    from .object_reader import read_fingerprint
    return read_fingerprint(directory)


def _object_graph(meta_graph):
    """The meta graph's ObjectGraph, or None; the TF2 readers are imported only for a TF2 SavedModel
    (the start-up of a TF1 module's static check pays for every import)."""
    if not meta_graph.HasField("object_graph_def"):
        return None
    from .object_reader import object_graph_facts
    return object_graph_facts(meta_graph)


def _nodes_facts(nodes, search_attrs: bool) -> tuple:
    """NodeFacts of ``nodes``.  Reading is linear but its constant matters (10^5 nodes
    must read well under a second): a plain node -- no Const, no attributes to
    search -- is built without a call, and equal op names share one string.  ``tuple(node.input[:])``:
    protobuf's C slice makes a list at once, a third faster than iterating the repeated field."""
    make, ops, found = tuple.__new__, {}, []
    append = found.append
    for node in nodes:
        op = node.op
        op = ops.setdefault(op, op)
        if search_attrs or op in FUNCTION_CALLING_OPS:
            append(_node_facts(node, search_attrs, op))
        elif op == "Const":  # 10^3 and more in a large graph: no call but _const_values
            value = node.attr.get("value")
            values, problem = (None, None) if value is None else _const_values(value.tensor)
            append(make(NodeFacts, (node.name, op, tuple(node.input[:]), (), values, problem)))
        else:
            append(make(NodeFacts, (node.name, op, tuple(node.input[:]), (), None, None)))
    return tuple(found)


def _node_facts(node, search_attrs: bool, op: str) -> NodeFacts:
    values = problem = None
    if op == "Const" and "value" in node.attr:
        values, problem = _const_values(node.attr["value"].tensor)
    functions = _function_references(node.attr) if search_attrs or op in FUNCTION_CALLING_OPS else ()
    return NodeFacts(node.name, op, tuple(node.input[:]), functions, values, problem)


def _function_references(attrs) -> tuple:
    """Every function name in ``attrs``, whatever the op: ``func`` and ``list(func)``
    values and, recursively, the attrs of those NameAttrLists (a function passed to a
    function, which fills a placeholder attr in its body).  Iterative: nesting depth
    is whatever the file says."""
    names, stack = set(), [attrs]
    while stack:
        for value in stack.pop().values():
            which = value.WhichOneof("value")
            if which == "func":
                names.add(value.func.name)
                if value.func.attr:
                    stack.append(value.func.attr)
            elif which == "list" and value.list.func:
                for function in value.list.func:
                    names.add(function.name)
                    if function.attr:
                        stack.append(function.attr)
    return tuple(sorted(names))


_CONTENT_FORMATS = {1: "f", 2: "d", 3: "i", 9: "q"}
_CONTENT_SIZES = {"f": 4, "d": 8, "i": 4, "q": 8}  # struct.calcsize of each
_MAX_VALUES = 16
# What TensorFlow's TensorShape accepts for a tensor's value (tensor_shape.h).
_MAX_RANK = 254
_MAX_ELEMENTS = 2**63 - 1


def _const_values(tensor):
    """(values, problem) of a Const's value.

    ``values`` for a small numeric tensor, and ``problem`` when TensorFlow could not make a tensor of it.  The element
    count is never materialised: a hostile shape may claim 2^62 elements per
    dimension, and the cost must stay linear in the bytes actually present.
    """
    count, problem = _element_count(tensor.tensor_shape)
    if problem:
        return None, problem
    fmt = _CONTENT_FORMATS.get(tensor.dtype)
    content = tensor.tensor_content
    if content and fmt:
        expected = count * _CONTENT_SIZES[fmt]
        if len(content) != expected:
            return None, f"tensor_content holds {len(content)} bytes; its shape needs {expected}"
    if count > _MAX_VALUES:
        return None, None
    for repeated in (tensor.float_val, tensor.double_val, tensor.int_val, tensor.int64_val):
        if len(repeated):
            # TensorFlow takes the first ``count`` values and repeats the last one to fill the shape.
            found = [float(v) for v in repeated[:count]]
            return (tuple(found + [found[-1]] * (count - len(found))) if found else ()), None
    if content and fmt:
        return tuple(float(v) for v in struct.unpack(f"<{count}{fmt}", content)), None
    return None, None


def _element_count(shape) -> tuple:
    """(elements, None) for a valid tensor shape, else (0, why TensorFlow refuses it)."""
    dims = shape.dim
    if not dims:
        return 1, None  # a scalar: most small Consts
    if len(dims) > _MAX_RANK:
        return 0, f"shape has {len(dims)} dimensions; TensorFlow allows at most {_MAX_RANK}"
    count = 1
    for index, size in enumerate([d.size for d in dims]):
        if size < 0:
            return 0, f"dimension {index} of its shape is {size}; a value's dimensions cannot be negative"
        count *= size
        if count > _MAX_ELEMENTS:
            return 0, f"its shape has more than 2^63-1 elements (dimension {index} overflows)"
    return count, None
