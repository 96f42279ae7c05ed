"""TXT701-TXT705: the `default` signature of a text module (TF1 "Common Signatures for Text").

The TF1 client's own predicate (``hub.text_embedding_column``): the `default`
signature has exactly one input, a string tensor of shape ``[None]``, and a
`default` output, float32, rank 2, batch unknown, second dimension known.
Which modules these rules judge is ``facts.kind`` (scope ``text``).

TXT705 is OUT405 for text: the same static trace and dynamic test of repeated
runs (``analysis.dropout``), with the text probes.
"""

from __future__ import annotations

from ..analysis.dropout import dynamic_dropout, static_dropout
from ..facts.image import DEFAULT
from ..facts.model import format_shape, format_tags
from ..probes import TEXT_DROPOUT, TEXT_REPEAT
from . import check, location, passed, skipped, violated
from ._observed import observed


def _each_input(ctx):
    """(signature, its only input or None, where) for the text signatures."""
    for signature in ctx.text_signatures:
        tensor = signature.inputs[0] if len(signature.inputs) == 1 else None
        yield signature, tensor, ctx.where(signature, "inputs", tensor.key if tensor else "")


def _not_one(where):
    return skipped("not exactly one input (see TXT701)", **where)


@check("TXT701")
def one_input(ctx, options):
    for signature, tensor, where in _each_input(ctx):
        keys = ", ".join(f"{t.key} {t.describe()}" for t in signature.inputs) or "none"
        if tensor is None:
            yield violated(f"{len(signature.inputs)} inputs ({keys}); a text module takes exactly one: "
                           "the batch of strings", **where)
        elif tensor.encoding != "dense":
            yield violated(f"the input '{tensor.key}' is {tensor.describe()}; expected a dense tensor", **where)
        else:
            yield passed(f"one input, '{tensor.key}'", **where)


@check("TXT702")
def input_dtype(ctx, options):
    for signature, tensor, where in _each_input(ctx):
        if tensor is None:
            yield _not_one(where)
        elif tensor.dtype == "string":
            yield passed(f"'{tensor.key}' is string", **where)
        else:
            hint = " (token ids: tokenisation belongs inside the module)" if tensor.dtype.startswith(("int", "uint")) \
                else ""
            yield violated(f"'{tensor.key}' is {tensor.dtype}{hint}; expected string", **where)


@check("TXT703")
def input_shape(ctx, options):
    for signature, tensor, where in _each_input(ctx):
        if tensor is None:
            yield _not_one(where)
            continue
        shape = tensor.shape
        if shape is not None and len(shape) == 1 and shape[0] is None:
            yield passed(f"'{tensor.key}' is {format_shape(shape)}", **where)
        elif shape is None or len(shape) != 1:
            rank = "unknown rank" if shape is None else f"rank {len(shape)} {format_shape(shape)}"
            yield violated(f"'{tensor.key}' has {rank}; expected [batch_size], one string per row", **where)
        else:
            yield violated(f"'{tensor.key}' has a fixed batch size ({format_shape(shape)}); expected [?]", **where)


@check("TXT704")
def output(ctx, options):
    for signature in ctx.text_signatures:
        tensor = signature.output(DEFAULT)
        where = ctx.where(signature, "outputs", DEFAULT if tensor else "")
        if tensor is None:
            keys = ", ".join(t.key for t in signature.outputs) or "none"
            yield violated(f"no output named 'default' (outputs: {keys})", **where)
            continue
        shape = tensor.shape
        problems = []
        if tensor.dtype != "float32" or tensor.encoding != "dense":
            problems.append(f"is {tensor.describe()}, expected dense float32")
        if shape is None or len(shape) != 2:
            problems.append(f"has shape {format_shape(shape)}, expected rank 2 [batch_size, N]")
        else:
            if shape[0] is not None:
                problems.append(f"has a fixed batch size {shape[0]}, expected it unknown")
            if not shape[1] or shape[1] < 0:
                problems.append("has N unknown ([?, ?]); consumers size their next layer from N")
        if problems:
            yield violated("'default' " + "; ".join(problems), **where)
        else:
            yield passed(f"'default' is float32 {format_shape(shape)}", **where)


@check("TXT705", needs=(TEXT_REPEAT, TEXT_DROPOUT))
def no_output_dropout(ctx, options):
    names = [s.name for s in ctx.text_signatures]
    for meta in ctx.facts.meta_graphs:
        present = [n for n in names if meta.signature(n) is not None]
        where = {"tags": meta.tags, "location": location(meta.tags, "signatures", DEFAULT, "outputs", DEFAULT)}
        if not present:
            yield skipped(f"{format_tags(meta.tags)} has no 'default' signature (see HUB103)", **where)
            continue
        evidence, last = static_dropout(meta, present, options)
        dynamic, measured = _dynamic(ctx, meta, options)
        halves = [h for h, found in (("static trace", evidence), ("dynamic runs", dynamic)) if found]
        stop = ", ".join(last[:3]) or "the inputs"
        if halves:
            yield violated(f"{format_tags(meta.tags)}: dropout between 'default' and the last computation ({stop}), "
                           f"found by {' and '.join(halves)}: " + "; ".join(evidence + ([measured] if dynamic else [])),
                           evidence=" and ".join(halves), **where)
        else:
            note = f"; {measured}" if measured else ""
            yield passed(f"{format_tags(meta.tags)}: no dropout between 'default' and {stop}{note}",
                         evidence="static trace" + (" and dynamic runs" if measured else ""), **where)


def _dynamic(ctx, meta, options):
    """(output dropout seen, description) from the repeated runs of ``meta``'s tag set, or (False, None)."""
    import numpy as np

    if ctx.observations is None:
        return False, None
    probe = TEXT_REPEAT if meta.tags == ctx.primary.tags else TEXT_DROPOUT
    seen = observed(ctx, meta.tags, DEFAULT)
    found = seen.probes.get(probe) if seen.probes else None
    if found is None or found.error or len(found.runs) < 2 or seen.tensor not in found.runs[0].values:
        return False, None
    runs = np.stack([run.values[seen.tensor] for run in found.runs])
    return dynamic_dropout(runs, options["dropout_pattern_share"])
