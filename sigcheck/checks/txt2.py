"""TXT751-TXT755: the TF2 text APIs, judged on the traces of a TF2 text model (no TensorFlow).

Which API a text model offers follows from __call__'s traces: strings in and one
tensor out is an embedding (TXT751), strings in and a dict out a preprocessor
(TXT752, with its optional ``tokenize``: TXT754, and ``bert_pack_inputs``:
TXT755), a dict of integer tensors in
an encoder (TXT753).  Each rule skips the models that offer another API.
"""

from __future__ import annotations

# facts.objects is imported inside the functions that use it: a TF1 module's static check
# never loads the TF2 object facts (start-up cost, BENCHMARKS.md).
from ..facts.tf2 import CALL, TF2_SAVED_MODEL, call_traces, object_graph, single_input, tf2_kind
from . import check, passed, skipped, violated

FLOATS = ("float32",)
INTS = ("int32",)
INTEGERS = ("int32", "int64")


def tf2_text_role(ctx):
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
    role = tf2_text_role(ctx)
    if role != "embedding":
        yield _not(role, "embedding")
        return
    for spec, where in _outputs(ctx):
        problem = _vector(spec, "__call__'s output")
        yield violated(problem, **where) if problem else passed(f"string [?] -> {spec.describe()}", **where)


@check("TXT752")
def preprocessor_outputs(ctx, options):
    from ..facts.objects import TensorSpec, describe
    role = tf2_text_role(ctx)
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
    role = tf2_text_role(ctx)
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
    role = tf2_text_role(ctx)
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




@check("TXT755")
def bert_pack_inputs(ctx, options):
    from ..facts.objects import describe
    role = tf2_text_role(ctx)
    graph = object_graph(ctx.facts) if role == "preprocessor" else None
    obj = graph.child(graph.root, "bert_pack_inputs") if graph else None
    if obj is None:
        yield skipped("no bert_pack_inputs sub-callable" if role == "preprocessor"
                      else _not(role, "preprocessor").message)
        return
    for index, trace in enumerate(graph.traces(obj)):
        where = {"location": f"objects/bert_pack_inputs/trace[{index}]"}
        problems = _pack_problems(graph, trace)
        if problems:
            yield violated("bert_pack_inputs " + "; ".join(problems), **where)
        else:
            out = trace.outputs
            yield passed(f"bert_pack_inputs({describe(trace.args[0])}"
                         + (f", seq_length={describe(_seq_length(trace))}" if _seq_length(trace) is not None else "")
                         + f") -> {{{', '.join(out.keys())}}}: {out.items[0][1].describe()}", **where)


def _seq_length(trace):
    """The trace's ``seq_length`` (keyword, or second positional argument), or None."""
    if "seq_length" in trace.kwargs.keys():
        return trace.kwargs.get("seq_length")
    return trace.args[1] if len(trace.args) > 1 else None


def _pack_problems(graph, trace) -> list:
    """Why a bert_pack_inputs trace breaks the API: a list of ragged token ids (and seq_length) in,
    a dict of fixed-length int32 [batch, seq_length] tensors out, no variables."""
    from ..facts.objects import TensorSpec, TypeSpec, describe
    problems = []
    segments = trace.args[0] if trace.args else None
    if not (isinstance(segments, tuple) and segments and all(
            isinstance(s, TypeSpec) and s.kind == "ragged" and s.dtype in INTEGERS for s in segments)):
        problems.append(f"takes {describe(segments)}; expected a list of ragged integer tensors "
                        "(tokenize's results)")
    others = [k for k in trace.kwargs.keys() if k != "seq_length"] + [f"argument {i}" for i in
                                                                       range(2, len(trace.args))]
    if others:
        problems.append(f"takes {', '.join(others)} besides the segments and seq_length")
    length = _seq_length(trace)
    if not (length is None or (isinstance(length, int) and not isinstance(length, bool) and length > 0)
            or (isinstance(length, TensorSpec) and length.dtype in INTEGERS and length.shape == ())):
        problems.append(f"takes seq_length={describe(length)}; expected a positive int or an integer scalar")
    problems += _packed_problems(trace.outputs, length)
    captured = [graph.node(b) for b in trace.bound_inputs]
    variables = [o.variable.name for o in captured if o is not None and o.variable is not None]
    if variables:
        problems.append(f"captures variable(s) {', '.join(variables)}; it has no variables")
    return problems


def _packed_problems(outputs, length) -> list:
    from ..facts.objects import StructDict, TensorSpec, describe
    if not isinstance(outputs, StructDict) or not outputs.items:
        return [f"returns {describe(outputs)}; expected a dict of int32 [batch, seq_length] tensors"]
    wanted = length if isinstance(length, int) else None
    bad = [f"{k} is {describe(v)}" for k, v in outputs.items
           if not (isinstance(v, TensorSpec) and v.dtype in INTS and v.shape is not None and len(v.shape) == 2
                   and v.shape[0] is None and (v.shape[1] == wanted if wanted is not None
                                                else length is not None or v.shape[1] is not None))]
    if not bad:
        return []
    expected = f"[batch, {wanted}]" if wanted is not None else "[batch, seq_length], seq_length known"
    return [f"returns {'; '.join(bad)}: expected int32 {expected}, batch unknown"]
