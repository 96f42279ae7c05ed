"""TXT751-TXT754: the TF2 text APIs, judged on the traces of a TF2 text model (no TensorFlow).

Which API a text model offers follows from __call__'s traces: strings in and one
tensor out is an embedding (TXT751), strings in and a dict out a preprocessor
(TXT752, with its optional ``tokenize``: TXT754), a dict of integer tensors in
an encoder (TXT753).  Each rule skips the models that offer another API.
"""

from __future__ import annotations

# facts.objects is imported inside the functions that use it: a TF1 module's static check
# never loads the TF2 object facts (start-up cost, BENCHMARKS.md).
from ..facts.tf2 import CALL, TF2_SAVED_MODEL, call_traces, object_graph, single_input, tf2_kind
from . import check, passed, skipped, violated

FLOATS = ("float32",)
INTS = ("int32",)


def _role(ctx):
    """``embedding``, ``preprocessor``, ``encoder`` or None (not a TF2 text model)."""
    from ..facts.objects import StructDict
    if ctx.module_format != TF2_SAVED_MODEL or tf2_kind(ctx.facts) != "text":
        return None
    traces = call_traces(ctx.facts)
    if isinstance(single_input(traces[0]), StructDict):
        return "encoder"
    return "preprocessor" if isinstance(traces[0].outputs, StructDict) else "embedding"


def _outputs(ctx):
    from ..facts.objects import describe
    seen, found = set(), []
    for index, trace in enumerate(call_traces(ctx.facts)):
        if describe(trace.outputs) not in seen:
            seen.add(describe(trace.outputs))
            found.append((trace.outputs, {"location": f"objects/{CALL}/trace[{index}]"}))
    return found


def _not(role, wanted):
    return skipped(f"not a TF2 text {wanted}" + (f" (its API: {role})" if role else ""))


def _vector(spec, what: str, rank: int = 2):
    """Why ``spec`` is not float32 [batch, ..., dim] of ``rank`` with dim known, or None."""
    from ..facts.objects import TensorSpec, describe
    if not isinstance(spec, TensorSpec):
        return f"{what} is {describe(spec)}; expected a dense float32 tensor"
    shape = spec.shape
    if spec.dtype not in FLOATS or shape is None or len(shape) != rank or shape[0] is not None or shape[-1] is None:
        expected = "[batch, dim]" if rank == 2 else "[batch, seq_length, dim]"
        return f"{what} is {spec.describe()}; expected float32 {expected}, batch unknown, dim known"
    return None


@check("TXT751")
def embedding_output(ctx, options):
    role = _role(ctx)
    if role != "embedding":
        yield _not(role, "embedding")
        return
    for spec, where in _outputs(ctx):
        problem = _vector(spec, "__call__'s output")
        yield violated(problem, **where) if problem else passed(f"string [?] -> {spec.describe()}", **where)


@check("TXT752")
def preprocessor_outputs(ctx, options):
    from ..facts.objects import TensorSpec, describe
    role = _role(ctx)
    if role != "preprocessor":
        yield _not(role, "preprocessor")
        return
    for outputs, where in _outputs(ctx):
        bad = [f"{k} is {describe(v)}" for k, v in outputs.items
               if not (isinstance(v, TensorSpec) and v.dtype in INTS and v.shape is not None and len(v.shape) == 2)]
        if bad:
            yield violated(f"{'; '.join(bad)}: expected int32 [batch, seq_length]", **where)
        else:
            yield passed(f"string [?] -> {{{', '.join(outputs.keys())}}}: int32 [batch, seq_length]", **where)


@check("TXT753")
def encoder_outputs(ctx, options):
    from ..facts.objects import StructDict, describe
    role = _role(ctx)
    if role != "encoder":
        yield _not(role, "encoder")
        return
    for outputs, where in _outputs(ctx):
        if not isinstance(outputs, StructDict) or outputs.get("default") is None:
            yield violated(f"__call__ returns {describe(outputs)}; expected a dict with 'default'", **where)
            continue
        problems = [p for p in (_vector(outputs.get("default"), "'default'"),
                                _vector(outputs.get("pooled_output"), "'pooled_output'")
                                if outputs.get("pooled_output") is not None else None,
                                _vector(outputs.get("sequence_output"), "'sequence_output'", 3)
                                if outputs.get("sequence_output") is not None else None) if p]
        if problems:
            yield violated("; ".join(problems), **where)
        else:
            yield passed(f"'default' is {outputs.get('default').describe()}", **where)


@check("TXT754")
def tokenize(ctx, options):
    from ..facts.objects import TypeSpec, describe
    role = _role(ctx)
    graph = object_graph(ctx.facts) if role == "preprocessor" else None
    obj = graph.child(graph.root, "tokenize") if graph else None
    if obj is None:
        yield skipped("no tokenize sub-callable" if role == "preprocessor" else _not(role, "preprocessor").message)
        return
    for index, trace in enumerate(graph.traces(obj)):
        where = {"location": f"objects/tokenize/trace[{index}]"}
        out = trace.outputs
        if isinstance(out, TypeSpec) and out.kind == "ragged" and out.dtype in INTS and (out.ragged_rank or 0) >= 1:
            yield passed(f"tokenize returns {out.describe()}", **where)
        else:
            yield violated(f"tokenize returns {describe(out)}; expected an int32 RaggedTensor with a ragged "
                           "dimension", **where)


