"""Facts about the object graph of a TF2 SavedModel (``tf.saved_model.save``).

What ``tf.saved_model.load`` rebuilds, read without TensorFlow: objects with
children by local name, restored functions with their concrete functions
(the traces: input structure with TensorSpecs and Python values such as the
``training`` flag, and output structure), and variables with dtype, shape and
whether they are trainable.  Plain frozen records, like facts.model.

A StructuredValue becomes builtins: ``TensorSpec`` for a tensor spec,
``TypeSpec`` for a composite (ragged, sparse), ``StructDict`` for a dict
(keys sorted), a tuple for a list or tuple, and the Python value itself for
None, bools, numbers and strings.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Optional

from ..record import record
from .model import Shape, format_shape

ROOT = 0  # the root object's node id (what tf.saved_model.load returns)


@record
class TensorSpec:
    name: str
    dtype: str
    shape: Shape

    def describe(self) -> str:
        return f"{self.dtype} {format_shape(self.shape)}"


@record
class TypeSpec:
    """A composite tensor's spec: ``ragged``, ``sparse`` or the spec's class name."""

    kind: str
    dtype: Optional[str] = None
    shape: Shape = None
    ragged_rank: Optional[int] = None

    def describe(self) -> str:
        return f"{self.kind} {self.dtype or '?'} {format_shape(self.shape)}"


@record
class StructDict:
    items: tuple  # of (key, value), sorted by key

    def get(self, key: str, default=None):
        return next((v for k, v in self.items if k == key), default)

    def keys(self) -> tuple:
        return tuple(k for k, _ in self.items)


def leaves(value) -> tuple:
    """Every TensorSpec and TypeSpec in a structure, depth first."""
    found, stack = [], [value]
    while stack:
        current = stack.pop()
        if isinstance(current, (TensorSpec, TypeSpec)):
            found.append(current)
        elif isinstance(current, StructDict):
            stack.extend(reversed([v for _, v in current.items]))
        elif isinstance(current, tuple):
            stack.extend(reversed(current))
    return tuple(found)


def describe(value) -> str:
    """``(float32 [?, ?, ?, 3], training=True)``-like text for messages."""
    if isinstance(value, (TensorSpec, TypeSpec)):
        return value.describe()
    if isinstance(value, StructDict):
        return "{" + ", ".join(f"{k}: {describe(v)}" for k, v in value.items) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    return repr(value)


@record
class ConcreteFunction:
    """One trace of a restored function."""

    name: str  # the FunctionDef in the graph's library
    args: tuple  # positional arguments (structures)
    kwargs: StructDict  # keyword arguments
    outputs: Any  # the output structure
    bound_inputs: tuple = ()  # node ids of the captured objects (variables...)
    readable: bool = True  # False: its canonicalized_input_signature is not an (args, kwargs) pair

    @property
    def inputs(self) -> tuple:
        """The tensor inputs: positional arguments and keyword values that are specs or structures of them."""
        return tuple(a for a in self.args if leaves(a)) + tuple(v for _, v in self.kwargs.items if leaves(v))

    @property
    def training(self):
        """The value of the ``training`` argument of this trace (keyword, or the second positional
        argument when it is a Python bool), or None when the trace does not take one."""
        value = self.kwargs.get("training")
        if isinstance(value, bool):
            return value
        if len(self.args) >= 2 and isinstance(self.args[1], bool):
            return self.args[1]
        return None

    def signature_without_training(self) -> tuple:
        """What the trace takes apart from ``training``: compared between True and False traces."""
        args = tuple(a for i, a in enumerate(self.args) if not (i == 1 and isinstance(a, bool)))
        kwargs = tuple((k, v) for k, v in self.kwargs.items if k != "training")
        return args, kwargs


@record
class Variable:
    name: str
    dtype: str
    shape: Shape
    trainable: bool


@record
class SavedObject:
    node_id: int
    kind: str  # user_object | function | variable | bare_concrete_function | asset | constant | resource | ...
    children: tuple = ()  # of (local name, node id), in file order
    identifier: str = ""  # a user object's kind: _generic_user_object, trackable_list_wrapper, ...
    concrete_functions: tuple = ()  # a function's (or bare concrete function's) trace names
    variable: Optional[Variable] = None
    asset_index: Optional[int] = None  # an asset's index into the meta graph's asset_file_def
    constant: str = ""  # a constant's Const op in the graph

    def child(self, name: str) -> Optional[int]:
        return next((node for local, node in self.children if local == name), None)


@record
class ObjectGraph:
    nodes: tuple  # of SavedObject, by node id
    concrete_functions: tuple  # of ConcreteFunction, sorted by name

    @property
    def root(self) -> Optional[SavedObject]:
        return self.nodes[ROOT] if self.nodes else None

    def node(self, node_id: Optional[int]) -> Optional[SavedObject]:
        if node_id is None or not 0 <= node_id < len(self.nodes):
            return None
        return self.nodes[node_id]

    def child(self, parent: Optional[SavedObject], name: str) -> Optional[SavedObject]:
        return None if parent is None else self.node(parent.child(name))

    @cached_property
    def by_function_name(self) -> dict:
        return {f.name: f for f in self.concrete_functions}

    def traces(self, obj: Optional[SavedObject]) -> tuple:
        """The concrete functions of a function object (those the file defines), in trace order."""
        if obj is None:
            return ()
        return tuple(self.by_function_name[n] for n in obj.concrete_functions if n in self.by_function_name)

    def elements(self, obj: Optional[SavedObject]) -> tuple:
        """The objects of a list (``variables``, ``regularization_losses``), in order."""
        if obj is None:
            return ()
        return tuple(n for n in (self.node(i) for _, i in obj.children) if n is not None)

    @property
    def variables(self) -> tuple:
        """Every variable object of the graph."""
        return tuple(n for n in self.nodes if n.variable is not None)


