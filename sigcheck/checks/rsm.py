"""RSM801-RSM807: the Reusable SavedModel API, judged on the object graph (no TensorFlow).

Every TF2 model is a reusable SavedModel to its consumers: ``hub.load`` returns
the root object, ``hub.KerasLayer`` calls its ``__call__`` and reads its
``variables``, ``trainable_variables`` and ``regularization_losses``.  What a
restored object can do is fixed by what the file records: the traces of each
function (a call that matches none fails) and the lists of objects.
Locations are paths into the object graph: ``objects/__call__/trace[0]``.
"""

from __future__ import annotations

# facts.objects is imported inside the functions that use it: a TF1 module's static check
# never loads the TF2 object facts (start-up cost, BENCHMARKS.md).
from ..facts.tf2 import CALL, call_traces, object_graph, sub_callables
from . import check, passed, skipped, violated

_SHOWN = 3


def _where(*path: str) -> dict:
    return {"location": "/".join(("objects",) + path)}


def _names(items) -> str:
    items = list(items)
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


@check("RSM801")
def call_present(ctx, options):
    graph = object_graph(ctx.facts)
    call = graph.child(graph.root, CALL)
    if call is None:
        children = [n for n, _ in graph.root.children] if graph.root else []
        yield violated(f"the root object has no __call__ (children: {_names(children) or 'none'}); "
                       "hub.KerasLayer and callers of hub.load need it", **_where())
    elif call.kind not in ("function", "bare_concrete_function"):
        yield violated(f"the root's __call__ is a {call.kind}, not a restored tf.function", **_where(CALL))
    elif not call_traces(ctx.facts):
        yield violated("__call__ has no concrete function: the tf.function was never traced before saving, "
                       "so the restored object cannot be called", **_where(CALL))
    else:
        yield passed(f"__call__ is a restored tf.function with {len(call_traces(ctx.facts))} trace(s)",
                     **_where(CALL))


def _training_gaps(traces) -> list:
    """Descriptions of the traces whose other-argument combination lacks training=True or False."""
    from ..facts.objects import describe
    seen: dict = {}
    for trace in traces:
        if trace.training is not None:
            seen.setdefault(trace.signature_without_training(), set()).add(trace.training)
    untrained = [t.signature_without_training() for t in traces if t.training is None and t.readable]
    gaps = []
    for key, values in seen.items():
        missing = {True, False} - values
        if missing:
            gaps.append(f"{describe(key[0])} is traced with training={values.pop()} only "
                        f"(no training={missing.pop()} trace)")
    if seen and untrained:
        gaps.append(f"{describe(untrained[0][0])} is traced without training while other traces take it")
    return gaps


def _judge_training(name: str, traces) -> list:
    gaps = _training_gaps(traces)
    if gaps:
        return [violated(f"{name}: {gap}", **_where(name)) for gap in gaps]
    if any(t.training is not None for t in traces):
        return [passed(f"{name} is traced for training=True and False with the same other arguments",
                       **_where(name))]
    return [passed(f"{name} takes no training argument", **_where(name))]


@check("RSM802")
def training_traces(ctx, options):
    traces = call_traces(ctx.facts)
    if not traces:
        yield skipped("no __call__ trace to judge (see RSM801)")
        return
    yield from _judge_training(CALL, traces)


def _captured_variables(graph, traces) -> dict:
    """node id -> Variable of every variable the traces capture."""
    found = {}
    for trace in traces:
        for node_id in trace.bound_inputs:
            node = graph.node(node_id)
            if node is not None and node.variable is not None:
                found[node_id] = node.variable
    return found


def _listed(graph, name: str):
    """The node ids listed under the root's ``name``, or None when the root has no such child."""
    holder = graph.child(graph.root, name)
    return None if holder is None else tuple(n.node_id for n in graph.elements(holder))


@check("RSM803")
def variables_listed(ctx, options):
    graph = object_graph(ctx.facts)
    captured = _captured_variables(graph, call_traces(ctx.facts) or ())
    listed = _listed(graph, "variables")
    if listed is None:
        if captured:
            names = [v.name for v in captured.values()]
            yield violated(f"__call__ uses {len(names)} variable(s) ({_names(names)}) but the root has no "
                           "'variables' list", **_where())
        else:
            yield passed("__call__ uses no variables (the 'variables' list may be omitted)", **_where())
        return
    missing = [v.name for node_id, v in captured.items() if node_id not in listed]
    if missing:
        yield violated(f"__call__ uses {len(missing)} variable(s) not in 'variables': {_names(missing)}",
                       **_where("variables"))
    else:
        yield passed(f"'variables' lists {len(listed)} object(s), every variable __call__ uses",
                     **_where("variables"))


@check("RSM804")
def trainable_variables(ctx, options):
    graph = object_graph(ctx.facts)
    trainable = _listed(graph, "trainable_variables")
    if trainable is None:
        yield passed("no 'trainable_variables' list (the model is not offered for fine-tuning)", **_where())
        return
    variables = _listed(graph, "variables") or ()
    problems = []
    for node_id in trainable:
        node = graph.node(node_id)
        name = node.variable.name if node.variable is not None else f"object {node_id}"
        if node.variable is None:
            problems.append(f"{name} is a {node.kind}, not a variable")
        elif not node.variable.trainable:
            problems.append(f"{name} is not trainable")
        if node_id not in variables:
            problems.append(f"{name} is not in 'variables'")
    if problems:
        for problem in problems:
            yield violated(f"trainable_variables: {problem}", **_where("trainable_variables"))
    else:
        yield passed(f"'trainable_variables' lists {len(trainable)} trainable variable(s), all in 'variables'",
                     **_where("trainable_variables"))


def _loss_problem(graph, obj):
    from ..facts.objects import TensorSpec, describe
    traces = graph.traces(obj)
    if obj.kind not in ("function", "bare_concrete_function"):
        return f"is a {obj.kind}, not a function"
    if not traces:
        return "has no trace"
    for trace in traces:
        if not trace.readable or trace.inputs:
            return f"takes inputs {describe(trace.args)}; it must take none"
        out = trace.outputs
        if not (isinstance(out, TensorSpec) and out.shape == () and out.dtype in ("float16", "float32",
                                                                                 "float64", "bfloat16")):
            return f"returns {describe(out)}; expected a scalar float"
    return None


@check("RSM805")
def regularization_losses(ctx, options):
    graph = object_graph(ctx.facts)
    holder = graph.child(graph.root, "regularization_losses")
    entries = graph.elements(holder)
    if not entries:
        yield passed("no regularization losses", **_where())
        return
    bad = False
    for index, obj in enumerate(entries):
        problem = _loss_problem(graph, obj)
        if problem:
            bad = True
            yield violated(f"regularization_losses[{index}] {problem}", **_where("regularization_losses", str(index)))
    if not bad:
        yield passed(f"{len(entries)} regularization loss(es), each taking no input and returning a scalar float",
                     **_where("regularization_losses"))


@check("RSM806")
def sub_callables_api(ctx, options):
    graph = object_graph(ctx.facts)
    found = sub_callables(graph)
    if not found:
        yield passed("no named sub-callables besides __call__", **_where())
        return
    for name, obj in found:
        traces = graph.traces(obj)
        if not traces:
            yield violated(f"{name} has no concrete function: it cannot be called after loading", **_where(name))
        else:
            yield from _judge_training(name, traces)


@check("RSM807")
def call_batch_unknown(ctx, options):
    from ..facts.objects import describe, leaves
    traces = call_traces(ctx.facts)
    if not traces:
        yield skipped("no __call__ trace to judge (see RSM801)")
        return
    fixed = []
    for trace in traces:
        for spec in leaves(trace.inputs):
            if spec.shape and spec.shape[0] is not None:
                fixed.append(f"{describe(spec)}" + (f" ({spec.name})" if getattr(spec, "name", "") else ""))
    if fixed:
        yield violated(f"__call__ takes a fixed batch size: {_names(sorted(set(fixed)))}; the batch dimension "
                       "must be unknown", **_where(CALL))
    else:
        yield passed("every __call__ input has an unknown batch dimension", **_where(CALL))
