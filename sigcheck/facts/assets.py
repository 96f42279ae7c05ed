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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

ASSETS_DIR = "assets"
ASSETS_COLLECTION = "saved_model_assets"  # tf.saved_model.constants.ASSETS_KEY
ASSET_FILEPATHS = "asset_filepaths"  # tf.GraphKeys.ASSET_FILEPATHS: the exporter's list of path tensors
# Ops that open the file named by their input 1 (the table handle is input 0).
FILE_READING_TABLE_OPS = ("InitializeTableFromTextFileV2", "InitializeTableFromTextFile")
FILENAME_INPUT = 1


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class PathConst:
    """A string Const a file-reading op is given: the path it would read unless a loader replaces it."""

    node: str
    value: str


def read_assets(module_dir: str, meta_graph, graph) -> tuple:
    """(declared AssetFacts, PathConsts) of one MetaGraphDef proto; ``graph`` is its GraphFacts."""
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
    return assets, _path_consts(meta_graph, graph)


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


def _path_consts(meta_graph, graph) -> tuple:
    """The string Consts the file-reading table ops take as filename (scanned only when such ops exist)."""
    wanted = {n.inputs[FILENAME_INPUT].split(":", 1)[0] for n in graph.nodes
              if n.op in FILE_READING_TABLE_OPS and len(n.inputs) > FILENAME_INPUT}
    if not wanted:
        return ()
    found = []
    for node in meta_graph.graph_def.node:
        if node.name in wanted and node.op == "Const":
            tensor = node.attr["value"].tensor
            value = tensor.string_val[0] if len(tensor.string_val) else b""
            found.append(PathConst(node.name, value.decode("utf-8", "replace")))
    return tuple(found)
