"""What would execute when a module is loaded and run, and which of it is outside an allowlist.

SEC601 judges this and the runtime's safety gate refuses to run what it finds.
What executes, per meta graph checked (all by default; with --tags the one
TensorFlow's loader picks, the first whose tag set matches):

- the fan-in (data and control inputs) of every tensor a signature output
  fetches (a sparse output's three tensors, a composite's components);
- the init ops a loader or hub.Module runs (table initializers, main/init ops);
- with a saver_def, its restore op; without one, what TensorFlow's default
  Saver restores into: every tensor the VariableDefs of the variables
  collections name (variable, snapshot, initializer, initial value) and the
  node-list entries of ``variables`` and ``saveable_objects``;
- every library function any reached node may call, whatever its op: a node
  whose op is a library function, and every function named by any attribute
  (``func``, ``list(func)``, and functions nested in their attrs, which fill
  the placeholder attrs of the called body), every definition of a repeated
  name, each body walked once.  A called name that is no library function is
  run by TensorFlow as a primitive op and judged as one.

A file-reading table initialiser (``asset_ops``) is allowed when it provably
reads one of the module's own declared asset files (``analysis.assets``).

A TF2 SavedModel (a meta graph with an object graph) also runs every concrete
function its object graph restores -- the traces of ``__call__``, of named
sub-callables, of regularization losses -- when a consumer calls them: each is
a root, as a call of that library function.

The restore op alone may in addition use the checkpoint-reading ops
(``restore_ops``), and only reading the module's own checkpoint: their prefix
input must be the saver's filename tensor, which the loader feeds with the
module's variables path.  A graph the walk cannot follow (an empty input, an
input or root naming no node) is malformed and judged so: its effects cannot
be known, so it is not run either.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from ..facts.graph import tensor_op_name, walk_back
from .assets import PLAIN_CALLS, RESTORED_CALL_PREFIX, asset_read_problem

# Collections whose ops a loader or hub.Module runs when the module is loaded.
INIT_COLLECTIONS = ("table_initializer", "saved_model_main_op", "legacy_init_op", "init_op", "local_init_op")
# Node-list collections TensorFlow's default Saver restores into (GLOBAL_VARIABLES, SAVEABLE_OBJECTS).
SAVER_COLLECTIONS = ("variables", "saveable_objects")
SHOWN_PATHS = 3  # paths are built for the first findings only: a path costs the depth of the graph


class Hazard(NamedTuple):
    """What SEC601 found: an op that would run outside the allowlist, or why it cannot tell."""

    op: Optional[str]  # the op type outside the allowlist; None when the graph is malformed
    where: str  # what reaches it and the node: "output default/default: node 'w' (WriteFile)"
    path: tuple = ()  # start node first; built for the first few findings only
    problem: Optional[str] = None  # set for malformed graphs and unproven restore inputs
    reason: Optional[str] = None  # why a file-reading table op is unsafe (analysis.assets)

    @property
    def what(self) -> str:
        return self.op if self.op is not None else "a malformed graph"


def execution_roots(meta) -> list:
    """(what, tensor or op name) for everything that runs besides the restore op."""
    roots = []
    for signature in meta.signatures:
        for tensor in signature.outputs:
            roots.extend((f"output {signature.name}/{tensor.key}", name) for name in tensor.fetched)
    for key in INIT_COLLECTIONS:
        collection = meta.collection(key)
        if collection is not None:
            roots.extend((f"init op {key}", name) for name in collection.values)
    if not meta.has_saver_def:
        roots.extend(default_saver_roots(meta))
    return roots


def default_saver_roots(meta) -> list:
    """What the default Saver TensorFlow builds without a saver_def restores into."""
    # (field, tensor name) of every name a VariableDef sets: thousands in a large module, no call each
    roots = [(f"variable in {v.collection} ({field})", name) for v in meta.variable_defs
             for field in v.NAME_FIELDS if (name := getattr(v, field))]
    for key in SAVER_COLLECTIONS:
        collection = meta.collection(key)
        if collection is not None:
            roots.extend((f"{key} collection", name) for name in collection.values)
    return roots


# The op a restored function's call is judged as (it is what tf.function's call runs).
RESTORED_CALL_OP = "StatefulPartitionedCall"


def with_restored_calls(meta) -> tuple:
    """(meta, roots): for a TF2 meta graph, ``meta`` with one synthetic call node per concrete function
    its object graph restores, and those nodes as roots; for TF1, ``meta`` and no roots."""
    graph = getattr(meta, "object_graph", None)
    if graph is None or not graph.concrete_functions:
        return meta, []
    from ..record import replace

    from ..facts.model import GraphFacts, NodeFacts

    owners = _function_owners(graph)
    calls = tuple(NodeFacts(f"{RESTORED_CALL_PREFIX}{f.name}", RESTORED_CALL_OP, (), (f.name,))
                  for f in graph.concrete_functions)
    extended = GraphFacts(nodes=meta.graph.nodes + calls, functions=meta.graph.functions)
    roots = [(f"restored function {owners.get(c.functions[0], '(unowned)')}", c.name) for c in calls]
    return replace(meta, graph=extended), roots


def _function_owners(graph) -> dict:
    """concrete function name -> the object path that offers it (``__call__``, ``regularization_losses/0``),
    the shortest one from the root, breadth first."""
    owners, paths, queue = {}, {0: ""}, [0]
    for node_id in queue:
        node = graph.node(node_id)
        if node is None:
            continue
        for name in node.concrete_functions:
            owners.setdefault(name, paths[node_id] or "<root>")
        for local, child in node.children:
            if child not in paths:
                paths[child] = f"{paths[node_id]}/{local}".lstrip("/")
                queue.append(child)
    return owners


def unsafe_ops(meta, options) -> list:
    """Every Hazard for what would execute outside the allowlist, or cannot be followed."""
    allowed = set(options["allowed_ops"]) | set(options["extra_allowed_ops"])
    asset_ops = frozenset(options.get("asset_ops", ())) - allowed
    meta, restored = with_restored_calls(meta)
    findings = _judge(meta, execution_roots(meta) + restored, allowed, asset_ops=asset_ops)
    if meta.has_saver_def and meta.restore_op:
        restore_ops = set(options["restore_ops"]) - allowed
        findings += _judge(meta, [("restore op", meta.restore_op)], allowed | restore_ops, restore_ops)
    unique = {}
    for finding in findings:
        unique.setdefault((finding.op, finding.where, finding.problem), finding)
    return list(unique.values())


def _judge(meta, roots: list, allowed: set, restore_ops: frozenset = frozenset(),
           asset_ops: frozenset = frozenset()) -> list:
    graph = meta.graph
    labels, findings = {}, []
    nodes = graph.by_name
    for what, name in roots:
        if not name or tensor_op_name(name) not in nodes:
            findings.append(Hazard(None, what, (), f"{what} names {name!r}, which is not a node of the graph"))
        else:
            labels.setdefault(name, what)
    walk = walk_back(graph, list(labels), functions=True)
    library = graph.library

    def found(key, op, problem=None, last=None, reason=None):
        what = labels[walk.start_of(key)]
        path = ()
        if len(findings) < SHOWN_PATHS:
            path = (what, *walk.path(*key), *((last,) if last else ()))
        findings.append(Hazard(op, f"{what}: {walk.describe(key)}", path, problem, reason))

    for malformed in walk.malformed:
        if malformed.key is not None:
            found(malformed.key, None, f"{walk.describe(malformed.key)} {malformed.problem}")
    callers = _callers(walk) if restore_ops or (asset_ops and graph.functions) else {}
    plain = allowed - asset_ops - restore_ops  # ops judged no further (most reached nodes)
    for scope, name, node in walk:
        if node.op in plain and node.op not in library:
            continue
        if node.op in asset_ops and node.op not in library:
            reason = asset_read_problem(meta, node, scope, callers)
            if reason:
                found((scope, name), node.op, reason=reason)
        elif node.op not in allowed and node.op not in library:
            found((scope, name), node.op)
        elif node.op in restore_ops:
            problem = _unproven_restore(meta, scope, node, callers)
            if problem:
                found((scope, name), node.op, problem)
    for key, name in walk.calls:
        if not name:
            found(key, None, f"{walk.describe(key)} calls a function with an empty name")
        elif name not in allowed:
            found(key, name, last=f"=> {name} (an op run as a function)")
    return findings


def _unproven_restore(meta, scope, node, callers: dict) -> Optional[str]:
    """Why a checkpoint op on the restore path may not read the module's own checkpoint, or None.

    Its prefix must be the saver's filename tensor: directly in the graph, or (as
    TensorFlow 2 exports it) an input arg of a function that every reached caller
    calls from the graph with the filename tensor at that position."""
    expected = _tensor(meta.saver_filename or "")
    raw = node.inputs[0] if node.inputs else ""
    if expected and scope is None and _tensor(raw) == expected:
        return None
    if expected and scope is not None:
        function = meta.graph.functions[scope]
        arg = raw.split(":", 1)[0]
        sites = callers.get(function.name, [])
        if arg in function.inputs and sites and all(
                _passes(caller, function.name, function.inputs.index(arg), expected) for caller in sites):
            return None
    return (f"{node.op} {node.name!r} reads the checkpoint prefix {_tensor(raw) or 'from nowhere'!r}, not the "
            f"saver's filename tensor {expected or '(none)'!r} that the loader feeds with the module's "
            "variables path")




def _callers(walk) -> dict:
    """function name -> (scope, node) of every reached node that names it (op or attribute)."""
    found: dict = {}
    for scope, _, node in walk:
        for name in set(node.functions) | {node.op}:
            found.setdefault(name, []).append((scope, node))
    return found


def _passes(caller, function: str, position: int, expected: str) -> bool:
    """Whether ``caller`` is a graph-level call of ``function`` alone passing ``expected``
    as argument ``position``."""
    scope, node = caller
    direct = node.op == function and not node.functions
    if scope is not None or not (direct or (node.op in PLAIN_CALLS and node.functions == (function,))):
        return False  # a nested call, or one that passes other arguments (If, Case, While, a function attr)
    data = [raw for raw in node.inputs if not raw.startswith("^")]
    return position < len(data) and _tensor(data[position]) == expected


def _tensor(name: str) -> str:
    """``x`` and ``x:0`` name the same tensor."""
    return name if ":" in name or not name else f"{name}:0"


def unsafe_to_run(facts, options) -> list:
    """What would execute outside the allowlist in any meta graph, one line each (sorted)."""
    from ..facts.model import format_tags

    return sorted({f"{f.what} in {format_tags(m.tags)}" for m in facts.meta_graphs for f in unsafe_ops(m, options)})


def refusal_to_run(unsafe: list) -> str:
    """The runtime stage's skip reason when the gate refuses to run the module."""
    return (f"not run: the graph would execute ops outside SEC601's allowlist ({', '.join(unsafe[:3])}); "
            "pass --allow-unsafe-ops to run it anyway")
