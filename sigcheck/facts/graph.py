"""Walking a graph backwards from tensors, without TensorFlow.

Used to answer "what feeds this output" (dropout tracing) and "what would
execute" (unsafe ops): one breadth-first walk from all start nodes at once
over node inputs, optionally through control dependencies and into the
library functions nodes call.  Large graphs (InceptionV3: ~8,500 nodes in two
tag sets) make this a hot path, so the walk keeps only a parent map and
builds the path to a node when a message asks for it.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterable, Optional

from .model import GraphFacts, NodeFacts

_GRAPH = None  # the function "name" of nodes of the graph itself


def input_node_name(raw: str) -> tuple:
    """``("x", False)`` for ``x`` or ``x:1``; ``("ctrl", True)`` for ``^ctrl``."""
    control = raw.startswith("^")
    name = raw[1:] if control else raw
    return name.split(":", 1)[0], control


def tensor_op_name(tensor_name: str) -> str:
    return tensor_name.split(":", 1)[0]


class Walk:
    """The result of walk_back: reached nodes in BFS order, and how each was reached."""

    def __init__(self, graph: GraphFacts):
        self.graph = graph
        self.order: list = []  # (function or None, node name, NodeFacts)
        self._parent: dict = {}  # (function, name) -> ((function, name) of the consumer, via control dep)

    def __iter__(self):
        return iter(self.order)

    @property
    def nodes(self) -> list:
        return [node for _, _, node in self.order]

    def path(self, function: Optional[str], name: str) -> list:
        """``["default/Identity (Identity)", "^write_marker (WriteFile)"]``: start node first."""
        steps, key = [], (function, name)
        while key is not None:
            parent, control = self._parent[key]
            node = self._node(*key)
            where = f"{key[0]}:" if key[0] else ""
            steps.append(("^" if control else "") + f"{where}{node.name} ({node.op})")
            key = parent
        return steps[::-1]

    def _node(self, function, name) -> NodeFacts:
        scope = self.graph.by_name if function is None else self.graph.function_nodes(function)
        return scope[name]


def walk_back(
    graph: GraphFacts,
    start: Iterable[str],
    *,
    stop: Callable[[NodeFacts], bool] = lambda node: False,
    control: bool = True,
    functions: bool = False,
) -> Walk:
    """Every node that feeds the tensors or ops named in ``start``.  Nodes for
    which ``stop`` is true are reached but not expanded.  With ``functions``,
    the bodies of called library functions are walked too (every node of a
    called function counts as reached)."""
    walk = Walk(graph)
    parent = walk._parent
    queue: deque = deque()
    for name in start:
        node = graph.by_name.get(tensor_op_name(name))
        if node is not None and (_GRAPH, node.name) not in parent:
            parent[(_GRAPH, node.name)] = (None, False)
            queue.append((_GRAPH, node))
    library = graph.function_by_name
    while queue:
        function, node = queue.popleft()
        walk.order.append((function, node.name, node))
        if stop(node):
            continue
        key = (function, node.name)
        scope = graph.by_name if function is None else graph.function_nodes(function)
        for raw in node.inputs:
            is_control = raw[0] == "^"
            if is_control and not control:
                continue
            name = (raw[1:] if is_control else raw).split(":", 1)[0]
            found = scope.get(name)
            if found is not None and (function, name) not in parent:
                parent[(function, name)] = (key, is_control)
                queue.append((function, found))
        if functions and library:
            called = list(node.functions) + ([node.op] if node.op in library else [])
            for callee in called:
                for inner in library[callee].nodes if callee in library else ():
                    if (callee, inner.name) not in parent:
                        parent[(callee, inner.name)] = (key, False)
                        queue.append((callee, inner))
    return walk
