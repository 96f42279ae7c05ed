"""Plain immutable facts about a TF1 Hub module, the only input of static rules.

Everything here is a frozen record (sigcheck.record) of builtins so that rules cannot mutate
what they read, facts can be cached, pickled to worker processes and dumped
to JSON without touching protobuf or TensorFlow.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple, Optional

from ..record import record
from .collector import without_collector

Shape = Optional[tuple]  # None = unknown rank; a dim of None = unknown size


def format_shape(shape: Shape) -> str:
    """``[?, 224, 224, 3]`` for a shape, ``<unknown rank>`` for None."""
    if shape is None:
        return "<unknown rank>"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def format_tags(tags: tuple) -> str:
    """``{}`` for the empty tag set, ``{train}`` otherwise."""
    return "{" + ", ".join(tags) + "}"


@record
class TensorFacts:
    """One TensorInfo of a signature: what a consumer feeds or receives."""

    key: str
    name: Optional[str]  # "op:0"; None for sparse or composite encodings
    dtype: str  # e.g. "float32"
    shape: Shape
    encoding: str = "dense"  # "dense" | "sparse" | "ragged" | "composite"
    # Every tensor name the TensorInfo refers to: the dense name, the sparse
    # triple or the composite's components (recursively); may include "" when
    # the TensorInfo is malformed (HUB106 and SEC601 judge that).
    components: tuple = ()

    @property
    def fetched(self) -> tuple:
        """Names of the tensors that fetching this TensorInfo runs (may include "")."""
        return self.components or (self.name or "",)

    @property
    def op_name(self) -> Optional[str]:
        return None if self.name is None else self.name.split(":")[0]

    def describe(self) -> str:
        text = f"{self.dtype} {format_shape(self.shape)}"
        return text if self.encoding == "dense" else f"{self.encoding} {text}"

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
            "encoding": self.encoding,
        }


@record
class SignatureFacts:
    name: str
    method_name: str
    inputs: tuple  # of TensorFacts, sorted by key
    outputs: tuple  # of TensorFacts, sorted by key

    def input(self, key: str) -> Optional[TensorFacts]:
        return next((t for t in self.inputs if t.key == key), None)

    def output(self, key: str) -> Optional[TensorFacts]:
        return next((t for t in self.outputs if t.key == key), None)

    def interface(self) -> tuple:
        """What a consumer sees: keys, dtypes and shapes, not tensor names."""
        return (
            tuple((t.key, t.dtype, t.shape, t.encoding) for t in self.inputs),
            tuple((t.key, t.dtype, t.shape, t.encoding) for t in self.outputs),
        )

    def to_json(self) -> dict:
        return {
            "method_name": self.method_name,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
        }


class NodeFacts(NamedTuple):
    """A graph node reduced to what tracing needs.

    A NamedTuple rather than a record: a large module has tens of
    thousands of nodes and constructing them is the bulk of reading it."""

    name: str
    op: str
    inputs: tuple  # raw input strings: "x", "x:1", "^ctrl"
    # Names of the functions the node may call: every function name found in any
    # of its attributes (func, list(func), and the attrs nested in those), sorted.
    functions: tuple = ()
    values: Optional[tuple] = None  # values of a small numeric Const (up to 16 elements)
    problem: Optional[str] = None  # why TensorFlow could not build this node (a malformed Const value)


@record
class FunctionFacts:
    name: str
    nodes: tuple  # of NodeFacts
    inputs: tuple = ()  # names of the input args, in order (what body nodes call them)


@record
class GraphFacts:
    nodes: tuple  # of NodeFacts
    functions: tuple = ()  # of FunctionFacts, in library order (names may repeat)

    @cached_property
    def by_name(self) -> dict:
        return {n.name: n for n in self.nodes}

    @cached_property
    def library(self) -> dict:
        """function name -> indices into ``functions`` of every definition with that name.

        A library may define one name several times; which definition TensorFlow
        would run is not for a reader to guess, so every one is kept."""
        found: dict = {}
        for index, function in enumerate(self.functions):
            found.setdefault(function.name, []).append(index)
        return {name: tuple(indices) for name, indices in found.items()}

    def function_nodes(self, index: int) -> dict:
        """Nodes of the library function ``functions[index]`` by name (cached per function)."""
        cache = self.__dict__.setdefault("_function_nodes", {})
        if index not in cache:
            cache[index] = {n.name: n for n in self.functions[index].nodes}
        return cache[index]

    @cached_property
    @without_collector
    def consumers(self) -> dict:
        """node name -> nodes that take one of its outputs as a data input."""
        found: dict = {}
        get = found.get
        for node in self.nodes:  # 10^5 nodes and more: no call or list per input that can be spared
            for raw in node.inputs:
                if raw[:1] == "^":
                    continue
                name = raw.split(":", 1)[0] if ":" in raw else raw
                bucket = get(name)
                if bucket is None:
                    found[name] = [node]
                else:
                    bucket.append(node)
        return found

    @cached_property
    def top_level_scopes(self) -> frozenset:
        """First segments of node names that have children (``TinyNet`` of ``TinyNet/conv1/Relu``)."""
        return frozenset(n.name.split("/", 1)[0] for n in self.nodes if "/" in n.name)


@record
class CollectionFacts:
    key: str
    kind: str  # node_list | bytes_list | int64_list | float_list | any_list | empty
    values: tuple  # node names for node_list, else empty (bytes are not kept)
    size: int


@record
class ImageSize:
    height: int
    width: int

    def to_json(self) -> dict:
        return {"height": self.height, "width": self.width}


@record
class AttachmentFacts:
    key: str
    size: int
    image_size: Optional[ImageSize] = None  # decoded ImageModuleInfo
    problem: Optional[str] = None  # why the attachment could not be decoded


@record
class VariableDefFacts:
    """The tensor names of one VariableDef in a variables collection.

    TensorFlow's default Saver (used when a meta graph has no saver_def)
    restores into the handles these names lead to."""

    collection: str
    variable_name: str
    snapshot_name: str = ""
    initializer_name: str = ""
    initial_value_name: str = ""

    # The fields holding a tensor name (a class attribute, not a field: it has no annotation).
    NAME_FIELDS = ("variable_name", "snapshot_name", "initializer_name", "initial_value_name")


@record
class MetaGraphFacts:
    tags: tuple  # the tag *set*, sorted, without repeats: what TensorFlow's loader matches
    signatures: tuple  # of SignatureFacts, sorted by name
    collections: tuple  # of CollectionFacts
    attachments: tuple  # of AttachmentFacts
    graph: GraphFacts
    restore_op: Optional[str] = None  # SaverDef.restore_op_name, if any
    tags_as_written: Optional[tuple] = None  # meta_info_def.tags in file order, repeats kept
    has_saver_def: bool = False  # a saver_def is recorded (else the loader builds a default Saver)
    saver_filename: Optional[str] = None  # SaverDef.filename_tensor_name: what the restore is fed
    variable_defs: tuple = ()  # of VariableDefFacts, from the variables collections
    object_graph: Any = None  # facts.objects.ObjectGraph of a TF2 SavedModel; None for TF1

    @property
    def repeated_tags(self) -> tuple:
        """Tags written more than once in this meta graph's tag list, sorted."""
        seen, repeated = set(), set()
        for tag in self.tags if self.tags_as_written is None else self.tags_as_written:
            (repeated if tag in seen else seen).add(tag)
        return tuple(sorted(repeated))
    variables: tuple = ()  # of facts.variables.VariableFacts: every variable op of the graph
    assets: tuple = ()  # of facts.assets.AssetFacts: the asset files this meta graph declares
    path_consts: tuple = ()  # of facts.assets.PathConst: string Consts file-reading table ops are given
    handles: tuple = ()  # of facts.assets.VariableHandle: read only when file-reading table ops exist

    def signature(self, name: str) -> Optional[SignatureFacts]:
        return next((s for s in self.signatures if s.name == name), None)

    @property
    def signature_names(self) -> tuple:
        return tuple(s.name for s in self.signatures)

    def collection(self, key: str) -> Optional[CollectionFacts]:
        return next((c for c in self.collections if c.key == key), None)

    @property
    def image_module_info(self) -> Optional[AttachmentFacts]:
        """The attached ImageModuleInfo; with several, the last, as hub.Module read it."""
        found = [a for a in self.attachments if a.key == "image_module_info"]
        return found[-1] if found else None

    @property
    def image_module_info_count(self) -> int:
        return sum(1 for a in self.attachments if a.key == "image_module_info")


@record
class ModuleDefFacts:
    present: bool
    problem: Optional[str] = None  # why it could not be parsed
    format: Optional[int] = None
    required_features: tuple = ()


FINGERPRINT = "fingerprint.pb"  # beside saved_model.pb, written by TensorFlow >= 2.11


@record
class Fingerprint:
    """fingerprint.pb: hashes TensorFlow writes beside saved_model.pb (2.12+).

    Here rather than in facts.objects: every module has one (``present=False`` when
    missing), and a TF1 module's read must not import the TF2 object facts."""

    present: bool
    problem: Optional[str] = None
    saved_model_checksum: int = 0
    saved_object_graph_hash: int = 0
    checkpoint_hash: int = 0
    producer: int = 0
    uuid: str = ""


@record
class ModuleFacts:
    """Everything read from one module directory."""

    path: str
    module_def: ModuleDefFacts
    meta_graphs: tuple  # of MetaGraphFacts, in file order
    has_variables: bool = False  # variables/variables.index exists
    checkpoint: Optional[tuple] = None  # of facts.checkpoint.CheckpointEntry, read from variables.index
    checkpoint_problem: Optional[str] = None  # why variables.index could not be read
    forced_kind: Optional[str] = None  # "image" | "text" from --kind; None: detected (facts.kind)
    fingerprint: Any = None  # Fingerprint (fingerprint.pb); None when not read

    @property
    def tag_sets(self) -> tuple:
        return tuple(m.tags for m in self.meta_graphs)

    @property
    def primary(self) -> MetaGraphFacts:
        """The inference graph: tag set {} if present, else the first one."""
        return next((m for m in self.meta_graphs if m.tags == ()), self.meta_graphs[0])

    def loaded_for(self, tags: tuple) -> Optional[MetaGraphFacts]:
        """The meta graph TensorFlow's loader picks for ``tags``: the first whose
        tag *set* equals the set of ``tags`` (loader_impl.get_meta_graph_def_from_tags)."""
        wanted = set(tags)
        return next((m for m in self.meta_graphs if set(m.tags) == wanted), None)
