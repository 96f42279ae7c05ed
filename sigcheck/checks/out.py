"""OUT401-OUT407: the `default` output and the other outputs of every image signature.

OUT401-OUT404, OUT406: the output dict of every image signature.

OUT405: no dropout between `default` and the last real computation.

Static half: walk each tag set's graph backwards from the `default` outputs,
stopping at the last real computation (matmul, conv, pool, mean...).  Dropout
shows in that region as a random op plus a mask op (GreaterEqual, Floor,
Select...) or as a ``dropout`` name scope.  Dropout deeper inside is beyond
the stop and therefore allowed.

Dynamic half (when inference ran): the same batch run several times.  Inverted
dropout on the output makes each element either 0 or one fixed value
(x / keep_prob) across runs; dropout deeper inside changes values densely.

OUT407: a classifier's `default` holds logits, judged on the inference graph's outputs.
"""

from __future__ import annotations

from ..analysis.dropout import dynamic_dropout, static_dropout
from ..facts.image import DEFAULT
from ..facts.model import format_shape, format_tags
from ..probes import ALL, DROPOUT, REPEAT, RESIZED, SIZES
from . import _tf2image as tf2image
from . import check, location, passed, skipped, violated
from ._tf2image import is_tf2
from ._observed import each_default_observed, observed
from . import _tf2run as tf2run


def _each_default_output(ctx):
    """(signature, tensor or None, where) for every image signature."""
    for signature in ctx.image_signatures:
        tensor = signature.output(DEFAULT)
        yield signature, tensor, ctx.where(signature, "outputs", DEFAULT if tensor else "")


def _no_default(where):
    return skipped("no 'default' output (see OUT401)", **where)


@check("OUT401")
def default_output(ctx, options):
    for signature, tensor, where in _each_default_output(ctx):
        if tensor is not None:
            yield passed("outputs contain 'default'", **where)
        else:
            keys = ", ".join(t.key for t in signature.outputs) or "none"
            yield violated(f"no output named 'default' (outputs: {keys}); "
                           "module(images) returns the 'default' output", **where)


@check("OUT402")
def output_dtype(ctx, options):
    if is_tf2(ctx):
        yield from tf2image.output_dtype(ctx)
        return
    for signature, tensor, where in _each_default_output(ctx):
        if tensor is None:
            yield _no_default(where)
        elif tensor.dtype == "float32" and tensor.encoding == "dense":
            yield passed("'default' is float32", **where)
        else:
            yield violated(f"'default' is {tensor.describe()}; expected dense float32", **where)


@check("OUT403")
def output_shape(ctx, options):
    if is_tf2(ctx):
        yield from tf2image.output_shape(ctx)
        return
    for signature, tensor, where in _each_default_output(ctx):
        if tensor is None:
            yield _no_default(where)
            continue
        shape = tensor.shape
        if shape is None:
            yield violated("'default' has unknown rank; expected [batch_size, N]", **where)
        elif len(shape) != 2:
            yield violated(f"'default' is rank {len(shape)} {format_shape(shape)}; expected rank 2 [batch_size, N]",
                           **where)
        elif shape[0] is not None:
            yield violated(f"'default' has a fixed batch size {shape[0]} ({format_shape(shape)}); "
                           "expected it unknown, as in the input", **where)
        else:
            yield passed(f"'default' is {format_shape(shape)}", **where)


@check("OUT404")
def static_size(ctx, options):
    if is_tf2(ctx):
        yield from tf2image.static_size(ctx)
        return
    for signature, tensor, where in _each_default_output(ctx):
        if tensor is None:
            yield _no_default(where)
        elif tensor.shape is None or len(tensor.shape) != 2:
            yield skipped(f"'default' is not rank 2 ({format_shape(tensor.shape)}; see OUT403)", **where)
        elif tensor.shape[1] is None:
            yield violated(f"'default' is {format_shape(tensor.shape)}: N is unknown; expected a known constant "
                           "number of features or classes", **where)
        elif tensor.shape[1] <= 0:
            yield violated(f"'default' is {format_shape(tensor.shape)}: N must be > 0", **where)
        else:
            yield passed(f"N = {tensor.shape[1]}", **where)


@check("OUT406")
def extra_keys_prefixed(ctx, options):
    scopes = ctx.primary.graph.top_level_scopes
    for signature in ctx.image_signatures:
        where = ctx.where(signature, "outputs")
        extra = [t.key for t in signature.outputs if t.key != DEFAULT]
        unprefixed = [k for k in extra if "/" not in k.strip("/")]
        unknown = [k for k in extra if k not in unprefixed and k.split("/", 1)[0] not in scopes]
        if unprefixed:
            yield violated(f"extra output(s) {', '.join(unprefixed)} lack an architecture prefix; "
                           "expected keys like 'InceptionV3/Mixed_5c'", **where)
        elif unknown:
            yield violated(
                f"extra output(s) {', '.join(unknown)} are prefixed with a name that is not a top-level name "
                f"scope of the graph (scopes include: {', '.join(sorted(scopes)[:8])})", **where)
        elif extra:
            yield passed(f"extra outputs are prefixed: {', '.join(extra)}", **where)
        else:
            yield passed("no extra outputs", **where)


def _dynamic(ctx, meta, names, options):
    """(found, description) of the dynamic half for one tag set, or (False, None)."""
    if ctx.observations is None:
        return False, None
    import numpy as np

    probe = REPEAT if meta is ctx.primary else DROPOUT
    for name in names:
        seen = observed(ctx, meta.tags, name)
        if seen.probes is None or probe not in seen.probes:
            continue
        runs = [seen.default_rows(probe, i) for i in range(len(seen.probes[probe].runs))]
        if len(runs) < 2 or any(r is None for r in runs):
            continue
        return dynamic_dropout(np.stack([r[1] for r in runs]), options["dropout_pattern_share"])
    return False, None


@check("OUT405", needs=(REPEAT, DROPOUT))
def no_output_dropout(ctx, options):
    if ctx.tf2_kind is not None:
        yield from tf2run.no_output_dropout(ctx, options)
        return
    for meta in ctx.facts.meta_graphs:
        present = [s.name for s in ctx.image_signatures_in(meta)]
        where = {"tags": meta.tags, "location": location(meta.tags, "signatures", present[0] if present else "",
                                                         "outputs", DEFAULT)}
        if not present:
            yield skipped(f"{format_tags(meta.tags)} has none of the image signatures (see HUB103)", **where)
            continue
        evidence, last = static_dropout(meta, present, options)
        found_dynamic, measured = _dynamic(ctx, meta, present, options)
        halves = [h for h, found in (("static trace", evidence), ("dynamic runs", found_dynamic)) if found]
        checked = "static trace" + (" and dynamic runs" if measured else "")
        stop = ", ".join(last[:3]) or "the inputs"
        if halves:
            details = evidence + ([measured] if found_dynamic else [])
            yield violated(
                f"{format_tags(meta.tags)}: dropout between 'default' and the last computation ({stop}), "
                f"found by {' and '.join(halves)}: "
                + "; ".join(details), evidence=" and ".join(halves), **where)
        else:
            note = f"; {measured}" if measured else ""
            yield passed(f"{format_tags(meta.tags)}: no dropout between 'default' and {stop}{note}",
                         evidence=checked, **where)


def _is_classification(ctx, signature) -> bool:
    if signature is None:
        return True  # TF2: the API does not say, so every image model's output is judged
    if signature.name == "image_classification":
        return True
    named = ctx.primary.signature("image_classification")
    return signature.name == DEFAULT and named is not None and named.interface() == signature.interface()


@check("OUT407", needs=(SIZES, ALL))
def logits_not_probabilities(ctx, options):
    import numpy as np

    for signature, where, seen in each_default_observed(ctx):
        if not _is_classification(ctx, signature):
            yield skipped("not a classification signature", **where)
            continue
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        batches = [seen.default_rows(n)[1] for n, p in seen.probes.items()
                   if p.scale == 1.0 and seen.default_rows(n) is not None]
        batches = [b.reshape(len(b), -1) for b in batches if b.size]
        if not batches:
            yield skipped("no batch ran (see RUN501)", **where)
            continue
        values = np.concatenate(batches)
        if not np.isfinite(values).all():
            yield skipped("outputs are not finite (see RUN502)", **where)
            continue
        in_unit = bool(((values >= 0) & (values <= 1)).all())
        sums_to_one = in_unit and bool(np.all(np.abs(values.sum(axis=1) - 1) <= options["sum_tolerance"]))
        open_unit = bool(((values > 0) & (values < 1)).all())
        example = ", ".join(f"{v:.3g}" for v in values[0][:4])
        output = "'default'" if signature is not None else "__call__'s output"
        if sums_to_one:
            yield violated(f"on every batch the rows of {output} lie in [0, 1] and sum to 1 (e.g. [{example}, ...]): "
                           "these look like softmax probabilities, not logits", **where)
        elif open_unit and values.shape[1] > 1:
            yield violated(f"every element of {output} lies strictly inside (0, 1) (e.g. [{example}, ...]): "
                           "these look like sigmoid probabilities, not logits", **where)
        else:
            low, high = float(values.min()), float(values.max())
            yield passed(f"{output} ranges over [{low:.3g}, {high:.3g}]: scores, not probabilities", **where)


@check("OUT411")
def single_output(ctx, options):
    yield from tf2image.single_output(ctx)


@check("OUT412", needs=(SIZES, RESIZED))
def size_independent_n(ctx, options):
    yield from tf2run.size_independent_n(ctx)
