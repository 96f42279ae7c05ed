"""Plain immutable facts about a TF1 Hub module, the only input of static rules.

Everything here is a frozen dataclass of builtins so that rules cannot mutate
what they read, facts can be cached, pickled to worker processes and dumped
to JSON without touching protobuf or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple, Optional

Shape = Optional[tuple]  # None = unknown rank; a dim of None = unknown size


def format_shape(shape: Shape) -> str:
    """``[?, 224, 224, 3]`` for a shape, ``<unknown rank>`` for None."""
    if shape is None:
        return "<unknown rank>"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def format_tags(tags: tuple) -> str:
    """``{}`` for the empty tag set, ``{train}`` otherwise."""
    return "{" + ", ".join(tags) + "}"


@dataclass(frozen=True)
class TensorFacts:
    """One TensorInfo of a signature: what a consumer feeds or receives."""

    key: str
    name: Optional[str]  # "op:0"; None for sparse or composite encodings
    dtype: str  # e.g. "float32"
    shape: Shape
    encoding: str = "dense"  # "dense" | "sparse" | "composite"

    @property
    def rank(self) -> Optional[int]:
        return None if self.shape is None else len(self.shape)

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


@dataclass(frozen=True)
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

    A NamedTuple rather than a frozen dataclass: a large module has tens of
    thousands of nodes and constructing them is the bulk of reading it."""

    name: str
    op: str
    inputs: tuple  # raw input strings: "x", "x:1", "^ctrl"
    functions: tuple = ()  # names of library functions the node calls
    values: Optional[tuple] = None  # values of a small numeric Const (up to 16 elements)
    text: Optional[str] = None  # value of a string scalar Const
    problem: Optional[str] = None  # why TensorFlow could not build this node (a malformed Const value)


@dataclass(frozen=True)
class FunctionFacts:
    name: str
    nodes: tuple  # of NodeFacts


@dataclass(frozen=True)
class GraphFacts:
    nodes: tuple  # of NodeFacts
    functions: tuple = ()  # of FunctionFacts

    @cached_property
    def by_name(self) -> dict:
        return {n.name: n for n in self.nodes}

    @cached_property
    def function_by_name(self) -> dict:
        return {f.name: f for f in self.functions}

    def function_nodes(self, function: str) -> dict:
        """Nodes of one library function by name (cached per function)."""
        cache = self.__dict__.setdefault("_function_nodes", {})
        if function not in cache:
            cache[function] = {n.name: n for n in self.function_by_name[function].nodes}
        return cache[function]

    @cached_property
    def consumers(self) -> dict:
        """node name -> nodes that take one of its outputs as a data input."""
        found: dict = {}
        for node in self.nodes:
            for raw in node.inputs:
                if not raw.startswith("^"):
                    found.setdefault(raw.split(":", 1)[0], []).append(node)
        return found

    @cached_property
    def top_level_scopes(self) -> frozenset:
        """First segments of node names that have children (``TinyNet`` of ``TinyNet/conv1/Relu``)."""
        return frozenset(n.name.split("/", 1)[0] for n in self.nodes if "/" in n.name)


@dataclass(frozen=True)
class CollectionFacts:
    key: str
    kind: str  # node_list | bytes_list | int64_list | float_list | any_list | empty
    values: tuple  # node names for node_list, else empty (bytes are not kept)
    size: int


@dataclass(frozen=True)
class ImageSize:
    height: int
    width: int

    def to_json(self) -> dict:
        return {"height": self.height, "width": self.width}


@dataclass(frozen=True)
class AttachmentFacts:
    key: str
    size: int
    image_size: Optional[ImageSize] = None  # decoded ImageModuleInfo
    problem: Optional[str] = None  # why the attachment could not be decoded


@dataclass(frozen=True)
class MetaGraphFacts:
    tags: tuple  # sorted
    signatures: tuple  # of SignatureFacts, sorted by name
    collections: tuple  # of CollectionFacts
    attachments: tuple  # of AttachmentFacts
    graph: GraphFacts
    restore_op: Optional[str] = None  # SaverDef.restore_op_name, if any

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


@dataclass(frozen=True)
class ModuleDefFacts:
    present: bool
    problem: Optional[str] = None  # why it could not be parsed
    format: Optional[int] = None
    required_features: tuple = ()


@dataclass(frozen=True)
class ModuleFacts:
    """Everything read from one module directory."""

    path: str
    module_def: ModuleDefFacts
    meta_graphs: tuple  # of MetaGraphFacts, in file order
    schema_version: int = 0
    has_variables: bool = False  # variables/variables.index exists
    files: tuple = field(default=())  # relative paths of the module's files

    @property
    def tag_sets(self) -> tuple:
        return tuple(m.tags for m in self.meta_graphs)

    @property
    def primary(self) -> MetaGraphFacts:
        """The inference graph: tag set {} if present, else the first one."""
        return next((m for m in self.meta_graphs if m.tags == ()), self.meta_graphs[0])
