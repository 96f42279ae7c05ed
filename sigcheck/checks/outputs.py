"""OUT401-OUT404, OUT406: the output dict of every image signature."""

from __future__ import annotations

from ..facts.image import DEFAULT
from ..facts.model import format_shape
from . import check, passed, skipped, violated


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
    for signature, tensor, where in _each_default_output(ctx):
        if tensor is None:
            yield _no_default(where)
        elif tensor.dtype == "float32" and tensor.encoding == "dense":
            yield passed("'default' is float32", **where)
        else:
            yield violated(f"'default' is {tensor.describe()}; expected dense float32", **where)


@check("OUT403")
def output_shape(ctx, options):
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
