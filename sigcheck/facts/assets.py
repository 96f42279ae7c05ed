"""The asset files a module declares, and the paths its file-reading ops are given.

A TF1 Hub text module initialises its vocabulary table from a file in its own
``assets/`` directory.  The graph holds a string Const (the exporter's path)
that a loader replaces by ``<module>/assets/<filename>``: TensorFlow's
SavedModel loader feeds the tensors named by the meta graph's ``asset_file_def``
entries and by the ``saved_model_assets`` collection (AssetFileDef protos packed
in Any), and ``hub.Module`` rewrites the Consts the collection names.  What is
recorded here lets SEC601 prove that a table initialiser reads only the module's
own assets (``analysis.assets``): which tensors are declared assets, whether each
declared file is a regular file inside the module, and the string a
file-reading op would be given otherwise.

A TF2 SavedModel initialises its tables in library functions (a restored
table's ``_initialize``): the filename is an argument, which
``tf.saved_model.load`` binds to a captured asset object of the object graph and
TensorFlow's SavedModel loader (running the graph's init op) feeds from a
variable assigned the declared asset Placeholder.  For those proofs this also
records the string Consts passed to such functions and captured as constants,
and the resource every variable handle names (two handles naming one resource
are one variable).
"""

from __future__ import annotations

import os
from ..record import record
from typing import Optional

ASSETS_DIR = "assets"
ASSETS_COLLECTION = "saved_model_assets"  # tf.saved_model.constants.ASSETS_KEY
ASSET_FILEPATHS = "asset_filepaths"  # tf.GraphKeys.ASSET_FILEPATHS: the exporter's list of path tensors
# Ops that open the file named by their input 1 (the table handle is input 0).
FILE_READING_TABLE_OPS = ("InitializeTableFromTextFileV2", "InitializeTableFromTextFile")
FILENAME_INPUT = 1


@record
class AssetFacts:
    """One declared asset: the tensor the loader feeds and the file it feeds it with."""

    tensor: str  # "asset_path:0"
    filename: str  # as declared: relative to assets/
    source: str  # "asset_file_def" | "saved_model_assets"
    problem: Optional[str] = None  # why it is not a regular file inside the module (None: it is)
    # Whether TensorFlow's SavedModel loader feeds this tensor: it takes asset_file_def when that is
    # non-empty and the collection only otherwise (loader_impl.get_asset_tensors).  hub.Module
    # rewrites the Consts of the collection entries only.
    fed_by_tensorflow: bool = True

    @property
    def node(self) -> str:
        return self.tensor.split(":", 1)[0]


@record
class PathConst:
    """A string Const a file-reading op is given: the path it would read unless a loader replaces it."""

    node: str
    value: str


@record
class VariableHandle:
    """A VarHandleOp of the graph (``function`` None) or of a library function, and the
    resource it names: (container, shared_name, or the node's name when that is empty)."""

    node: str
    function: Optional[str]
    resource: tuple


def read_assets(module_dir: str, meta_graph, graph) -> tuple:
    """(declared AssetFacts, PathConsts, VariableHandles) of one MetaGraphDef proto; ``graph``
    is its GraphFacts.  PathConsts and VariableHandles are read only when file-reading ops exist."""
    declared = [(a, "asset_file_def") for a in meta_graph.asset_file_def]
    collection = meta_graph.collection_def.get(ASSETS_COLLECTION)
    if collection is not None and collection.WhichOneof("kind") == "any_list":
        from . import protos

        for packed in collection.any_list.value:
            asset = protos.AssetFileDef()
            try:
                asset.ParseFromString(packed.value)
            except Exception:  # noqa: BLE001 - an undecodable entry declares nothing
                continue
            declared.append((asset, ASSETS_COLLECTION))
    from_file_def = bool(meta_graph.asset_file_def)
    assets = tuple(AssetFacts(a.tensor_info.name, a.filename, source, asset_problem(module_dir, a.filename),
                              fed_by_tensorflow=(source == "asset_file_def") == from_file_def)
                   for a, source in declared)
    readers = _reading_functions(graph)
    handles = _handles(meta_graph, graph) if readers or _graph_readers(graph) else ()
    return assets, _path_consts(meta_graph, graph, readers), handles


def asset_problem(module_dir: str, filename: str) -> Optional[str]:
    """Why ``assets/<filename>`` is not a regular file inside the module, or None."""
    if not filename:
        return "the declared filename is empty"
    if os.path.isabs(filename) or filename.startswith(("/", "\\")):
        return f"{filename!r} is an absolute path"
    if ".." in filename.replace("\\", "/").split("/"):
        return f"{filename!r} leaves the assets directory ('..')"
    root = os.path.realpath(module_dir)
    path = os.path.join(root, ASSETS_DIR, filename)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        return f"assets/{filename} is a link leaving the module (to {real})"
    if not os.path.isfile(real):
        return f"assets/{filename} does not exist in the module"
    return None


def _graph_readers(graph) -> list:
    return [n for n in graph.nodes if n.op in FILE_READING_TABLE_OPS and len(n.inputs) > FILENAME_INPUT]


def _reading_functions(graph) -> set:
    """Names of the library functions that run a file-reading table op, directly or through calls."""
    found = {f.name for f in graph.functions if any(n.op in FILE_READING_TABLE_OPS for n in f.nodes)}
    while found:
        more = {f.name for f in graph.functions if f.name not in found and any(
            n.op in found or found.intersection(n.functions) for n in f.nodes)}
        if not more:
            break
        found |= more
    return found


def _path_consts(meta_graph, graph, readers: set) -> tuple:
    """The string Consts the file-reading table ops may take as filename: their graph-level input,
    the graph-level arguments of calls of functions that read files, the captured constants of
    the object graph (scanned only when such ops exist)."""
    wanted = {n.inputs[FILENAME_INPUT].split(":", 1)[0] for n in _graph_readers(graph)}
    if readers:
        wanted |= {raw.split(":", 1)[0] for n in graph.nodes if n.op in readers or readers.intersection(n.functions)
                   for raw in n.inputs if not raw.startswith("^")}
        wanted |= {n.constant.operation for n in meta_graph.object_graph_def.nodes
                   if n.WhichOneof("kind") == "constant"}
    if not wanted:
        return ()
    found = []
    for node in meta_graph.graph_def.node:
        if node.name in wanted and node.op == "Const":
            tensor = node.attr["value"].tensor
            value = tensor.string_val[0] if len(tensor.string_val) else b""
            found.append(PathConst(node.name, value.decode("utf-8", "replace")))
    return tuple(found)


def _handles(meta_graph, graph) -> tuple:
    """A VariableHandle for every VarHandleOp of the graph and of its library functions."""
    found = []
    scopes = [(None, graph.nodes, meta_graph.graph_def.node)] + [
        (f.name, f.nodes, meta_graph.graph_def.library.function[i].node_def) for i, f in enumerate(graph.functions)]
    for function, nodes, protos_nodes in scopes:
        for index in (i for i, n in enumerate(nodes) if n.op == "VarHandleOp"):
            attr = protos_nodes[index].attr
            container = attr["container"].s.decode("utf-8", "replace") if "container" in attr else ""
            shared = attr["shared_name"].s.decode("utf-8", "replace") if "shared_name" in attr else ""
            found.append(VariableHandle(nodes[index].name, function, (container, shared or nodes[index].name)))
    return tuple(found)
