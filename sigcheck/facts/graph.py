"""Walking a graph backwards from tensors, without TensorFlow.

Used to answer "what feeds this output" (dropout tracing) and "what would
execute" (unsafe ops): a breadth-first walk over node inputs, optionally
through control dependencies and into the library functions nodes call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from .model import GraphFacts, NodeFacts


def input_node_name(raw: str) -> tuple:
    """``("x", False)`` for ``x`` or ``x:1``; ``("ctrl", True)`` for ``^ctrl``."""
    control = raw.startswith("^")
    name = raw[1:] if control else raw
    return name.split(":", 1)[0], control


def tensor_op_name(tensor_name: str) -> str:
    return tensor_name.split(":", 1)[0]


@dataclass(frozen=True)
class Visit:
    """A node reached by a walk and how: ``via`` is the node that consumed it
    (None for a start node); ``function`` the library function it lives in."""

    node: NodeFacts
    via: Optional["Visit"]
    control: bool = False
    function: Optional[str] = None

    def path(self) -> list:
        """Node descriptions from the start node down to this one."""
        chain, visit = [], self
        while visit is not None:
            chain.append(visit)
            visit = visit.via
        parts = []
        for step in reversed(chain):
            where = f"{step.function}:" if step.function else ""
            parts.append(("^" if step.control else "") + f"{where}{step.node.name} ({step.node.op})")
        return parts


def walk_back(
    graph: GraphFacts,
    start: Iterable[str],
    *,
    stop: Callable[[NodeFacts], bool] = lambda node: False,
    control: bool = True,
    functions: bool = False,
) -> list:
    """Every node that feeds the nodes named in ``start``, as Visits in BFS
    order.  Nodes for which ``stop`` is true are visited but not expanded.
    With ``functions``, the bodies of called library functions are walked
    too (every node of a called function counts as reachable)."""
    seen: set = set()
    queue: deque = deque()
    visits = []
    for name in start:
        node = graph.by_name.get(tensor_op_name(name))
        if node is not None and (None, node.name) not in seen:
            seen.add((None, node.name))
            queue.append(Visit(node, None))
    while queue:
        visit = queue.popleft()
        visits.append(visit)
        if stop(visit.node):
            continue
        scope = graph.by_name if visit.function is None else graph.function_nodes(visit.function)
        for raw in visit.node.inputs:
            name, is_control = input_node_name(raw)
            if is_control and not control:
                continue
            node = scope.get(name)
            key = (visit.function, name)
            if node is not None and key not in seen:
                seen.add(key)
                queue.append(Visit(node, visit, is_control, visit.function))
        if functions:
            for called in _called_functions(graph, visit.node):
                for node in graph.function_by_name[called].nodes:
                    key = (called, node.name)
                    if key not in seen:
                        seen.add(key)
                        queue.append(Visit(node, visit, False, called))
    return visits


def _called_functions(graph: GraphFacts, node: NodeFacts) -> list:
    names = list(node.functions)
    if node.op in graph.function_by_name:
        names.append(node.op)
    return [n for n in names if n in graph.function_by_name]
