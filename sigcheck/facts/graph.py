"""Walking a graph backwards from tensors, without TensorFlow.

Used to answer "what feeds this output" (dropout tracing) and "what would
execute" (unsafe ops): one breadth-first walk from all start nodes at once
over node inputs, optionally through control dependencies and into the
library functions nodes call.  Large graphs (InceptionV3: ~8,500 nodes in two
tag sets) and graphs with thousands of call sites make this a hot path, so the
walk enters each function body once however often it is called (time and
memory linear in the graph), keeps only a parent map, and builds the path to a
node when a message asks for it.

The file is untrusted: an input that is empty or names no node, or a start
that names no node, is recorded in ``Walk.malformed`` instead of raising.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterable, NamedTuple, Optional

from .collector import without_collector
from .model import GraphFacts, NodeFacts

_GRAPH = None  # the scope of the graph's own nodes; a function body's scope is its index


def input_node_name(raw: str) -> tuple:
    """``("x", False)`` for ``x`` or ``x:1``; ``("ctrl", True)`` for ``^ctrl``."""
    control = raw.startswith("^")
    name = raw[1:] if control else raw
    return name.split(":", 1)[0], control


def tensor_op_name(tensor_name: str) -> str:
    return tensor_name.split(":", 1)[0]


def mark_shared(graph: GraphFacts) -> None:
    """Note that several meta graphs hold ``graph`` (byte-identical graph_defs, read once): walks
    over it are then memoised, as each meta graph's rules ask for the same walks again."""
    graph.__dict__.setdefault("_walks", {})


class Malformed(NamedTuple):
    """Something the walk could not follow: ``key`` is the node it was at
    (None for a start), ``problem`` says what is wrong."""

    key: Optional[tuple]
    problem: str


class Walk:
    """The result of walk_back: reached nodes in BFS order, and how each was reached."""

    def __init__(self, graph: GraphFacts):
        self.graph = graph
        self.order: list = []  # (scope, node name, NodeFacts); scope = None or a function index
        self.malformed: list = []  # of Malformed
        self.calls: list = []  # (key of the caller, name) for names that are no library function
        # (scope, name) -> (key of the consumer or caller, how, start); (None, "start", start) for a start
        self._parent: dict = {}
        self._paths: dict = {}  # key -> path, for a memoised walk asked the same path again

    def __iter__(self):
        return iter(self.order)

    @property
    def nodes(self) -> list:
        return [node for _, _, node in self.order]

    def start_of(self, key: tuple) -> str:
        """The start (as given to walk_back) through which ``key`` was reached."""
        return self._parent[key][2]

    @without_collector
    def path(self, scope, name: str) -> list:
        """``["default/Identity (Identity)", "^write_marker (WriteFile)"]``: start node first.
        A step into a function body reads ``=> Fn:node (Op)``."""
        found = self._paths.get((scope, name))
        if found is None:
            found = self._paths[(scope, name)] = tuple(self._path(scope, name))
        return list(found)

    def _path(self, scope, name: str) -> list:
        steps, key = [], (scope, name)
        parents, graph_nodes, functions = self._parent, self.graph.by_name, self.graph.functions
        marks = {"control": "^", "call": "=> ", "input": "", "start": ""}
        append = steps.append
        while key is not None:
            parent, how, _ = parents[key]
            if key[0] is _GRAPH:
                node = graph_nodes[key[1]]
                append(f"{marks[how]}{node.name} ({node.op})")
            else:
                node = self.graph.function_nodes(key[0])[key[1]]
                append(f"{marks[how]}{functions[key[0]].name}:{node.name} ({node.op})")
            key = parent
        return steps[::-1]

    def describe(self, key: tuple) -> str:
        node = self.node(key)
        where = "" if key[0] is _GRAPH else f"function {self.graph.functions[key[0]].name}: "
        return f"{where}node {node.name!r} ({node.op})"

    def node(self, key: tuple) -> NodeFacts:
        return self._scope(key[0])[key[1]]

    def _scope(self, scope) -> dict:
        return self.graph.by_name if scope is _GRAPH else self.graph.function_nodes(scope)


@without_collector
def walk_back(
    graph: GraphFacts,
    start: Iterable[str],
    *,
    stop: Optional[Callable[[NodeFacts], bool]] = None,
    stop_ops: Optional[frozenset] = None,
    control: bool = True,
    functions: bool = False,
) -> Walk:
    """Every node that feeds the tensors or ops named in ``start``.  Nodes for
    which ``stop`` is true are reached but not expanded.  With ``functions``,
    the bodies of the library functions nodes may call are walked too: every
    function named by a node's op or by any of its attributes, every definition
    of that name, every node of a called body counting as reached.  Nodes whose op
    is in ``stop_ops`` are not expanded either (a walk stopped so, or not at all, over
    a graph several meta graphs share is memoised: the result is the same).  """
    memo = graph.__dict__.get("_walks") if stop is None else None
    if memo is not None:
        start = tuple(start)
        memo_key = (start, stop_ops, control, functions)
        if memo_key not in memo:
            memo[memo_key] = _walk_back(graph, start, stop_ops, control, functions)
        return memo[memo_key]
    return _walk_back(graph, start, stop_ops, control, functions, stop)


def _walk_back(graph: GraphFacts, start, stop_ops, control: bool, functions: bool, stop=None) -> Walk:
    walk = Walk(graph)
    parent = walk._parent
    queue: deque = deque()  # of (key, node); key = (scope, node name)
    for name in start:
        op_name = tensor_op_name(name) if name else ""
        node = graph.by_name.get(op_name) if op_name else None
        if node is None:
            walk.malformed.append(Malformed(None, f"{name!r} is not a node of the graph"))
        elif (_GRAPH, node.name) not in parent:
            key = (_GRAPH, node.name)
            parent[key] = (None, "start", name)
            queue.append((key, node))
    library = graph.library if functions else {}
    entered: set = set()
    # The loop body runs once per reached node (10^5 and more): locals, no call per input.
    pop, push, reached, malformed = queue.popleft, queue.append, walk.order.append, walk.malformed.append
    graph_nodes, function_nodes = graph.by_name, graph.function_nodes
    while queue:
        key, node = pop()
        scope = key[0]
        reached((scope, key[1], node))
        if stop is not None and stop(node) or stop_ops is not None and node.op in stop_ops:
            continue
        start_name = parent[key][2]
        scope_nodes = graph_nodes if scope is _GRAPH else function_nodes(scope)
        for raw in node.inputs:
            if not raw or raw == "^":
                malformed(Malformed(key, "has an empty input"))
                continue
            is_control = raw[0] == "^"
            if is_control and not control:
                continue
            name = raw[1:] if is_control else raw
            if ":" in name:
                name = name.split(":", 1)[0]
            found = scope_nodes.get(name)
            if found is None:
                # In a function body an input may name an argument, which is no node.
                if scope is _GRAPH:
                    malformed(Malformed(key, f"takes input {raw!r}, which is not a node of the graph"))
                continue
            inner = (scope, name)
            if inner not in parent:
                parent[inner] = (key, "control" if is_control else "input", start_name)
                push((inner, found))
        if functions and (node.functions or node.op in library):
            _enter_functions(walk, key, node, queue, library, entered)
    return walk


def _enter_functions(walk: Walk, key: tuple, node: NodeFacts, queue: deque, library: dict, entered: set) -> None:
    """Queue the bodies of what ``node`` may call, each body once per walk."""
    names = node.functions + ((node.op,) if node.op in library else ())
    start = walk._parent[key][2]
    for name in names:
        indices = library.get(name)
        if indices is None:
            walk.calls.append((key, name))  # TensorFlow runs a non-function name as a primitive op
            continue
        for index in indices:
            if index in entered:
                continue
            entered.add(index)
            for inner in walk.graph.functions[index].nodes:
                inner_key = (index, inner.name)
                if inner_key not in walk._parent:
                    walk._parent[inner_key] = (key, "call", start)
                    queue.append((inner_key, inner))
