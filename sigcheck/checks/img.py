"""IMG301-IMG307: the image input of every image signature.

IMG301-IMG306: the image input of every image signature.

IMG307: does the module expect [0, 1] RGB values, or raw [0, 255]?

Static half: the first ops after `images` -- a division by ~255 (or a
multiplication by ~1/255) or a subtraction of large constants such as ImageNet
channel means means the module wants raw pixel values.  Runtime half (when
inference ran): the output's relative spread across images at [0, 1] vs at
[0, 255]; a module that expects [0, 255] barely tells [0, 1] images apart.
"""

from __future__ import annotations

from ..analysis.input_range import relative_spread, static_evidence
from ..facts.image import IMAGES, expected_image_size, image_input
from ..facts.model import format_shape, format_tags
from ..facts.tf2 import call_traces, single_input
from ..probes import ALL, RANGE255
from . import _tf2image as tf2image
from . import check, location, passed, skipped, violated
from ._tf2image import is_tf2
from ._observed import observed
from ._tf2observed import WHERE as TF2_WHERE
from ._tf2observed import call_observed


def _each_image_input(ctx):
    """(signature, tensor, where) for every image signature; skips the rest."""
    for signature in ctx.image_signatures:
        tensor = image_input(signature)
        if tensor is None:
            yield signature, None, ctx.where(signature, "inputs")
        else:
            yield signature, tensor, ctx.where(signature, "inputs", tensor.key)


def _no_input(where):
    return skipped("no image input identified (see IMG301)", **where)


@check("IMG301")
def input_name(ctx, options):
    for signature in ctx.image_signatures:
        keys = [t.key for t in signature.inputs]
        where = ctx.where(signature, "inputs")
        if keys == [IMAGES]:
            yield passed("one input, named 'images'", **where)
        elif IMAGES in keys:
            yield violated(
                f"inputs are {', '.join(keys)}; expected exactly one input, 'images', so that m(images) works",
                **where)
        else:
            yield violated(
                f"no input named 'images' (inputs: {', '.join(keys) or 'none'}); "
                "hub.get_expected_image_size and m(images) look it up by that name", **where)


@check("IMG302")
def input_dtype(ctx, options):
    if is_tf2(ctx):
        yield from tf2image.input_dtype(ctx)
        return
    for signature, tensor, where in _each_image_input(ctx):
        if tensor is None:
            yield _no_input(where)
        elif tensor.encoding != "dense":
            yield violated(f"'{tensor.key}' is a {tensor.encoding} tensor; expected a dense float32 batch",
                           **where)
        elif tensor.dtype == "float32":
            yield passed("'%s' is float32" % tensor.key, **where)
        else:
            yield violated(
                f"'{tensor.key}' is {tensor.dtype}; expected float32 RGB values in [0, 1]", **where)


@check("IMG303")
def input_layout(ctx, options):
    for signature, tensor, where in _each_image_input(ctx):
        if tensor is None:
            yield _no_input(where)
            continue
        shape = tensor.shape
        shown = format_shape(shape)
        if shape is None:
            yield violated(f"'{tensor.key}' has unknown rank; expected [batch, height, width, 3]", **where)
        elif len(shape) != 4:
            yield violated(f"'{tensor.key}' is rank {len(shape)} {shown}; expected rank 4 [batch, height, width, 3]",
                           **where)
        elif shape[3] == 3:
            yield passed(f"'{tensor.key}' is {shown}: NHWC with 3 channels", **where)
        elif shape[1] == 3:
            yield violated(f"'{tensor.key}' is {shown}, which looks channels-first (NCHW); "
                           "expected NHWC [batch, height, width, 3]", **where)
        else:
            channels = "unknown" if shape[3] is None else shape[3]
            yield violated(f"'{tensor.key}' is {shown} with {channels} channels; "
                           "expected the last dimension fixed to 3 (RGB)", **where)


def _rank4(tensor) -> bool:
    return tensor.shape is not None and len(tensor.shape) == 4


@check("IMG304")
def input_batch(ctx, options):
    for signature, tensor, where in _each_image_input(ctx):
        if tensor is None:
            yield _no_input(where)
        elif tensor.shape is None or not tensor.shape:
            yield skipped(f"'{tensor.key}' has no batch dimension to judge (see IMG303)", **where)
        elif tensor.shape[0] is None:
            yield passed(f"'{tensor.key}' accepts any batch size ({format_shape(tensor.shape)})", **where)
        else:
            yield violated(
                f"'{tensor.key}' has a fixed batch size of {tensor.shape[0]} ({format_shape(tensor.shape)}); "
                "expected the first dimension unknown so that any batch size works", **where)


@check("IMG305")
def input_size(ctx, options):
    for signature, tensor, where in _each_image_input(ctx):
        if tensor is None:
            yield _no_input(where)
        elif not _rank4(tensor):
            yield skipped(f"'{tensor.key}' is not rank 4 (see IMG303)", **where)
        elif tensor.shape[1] and tensor.shape[2]:
            yield passed(f"height and width are fixed: {tensor.shape[1]}x{tensor.shape[2]}", **where)
        else:
            yield violated(
                f"'{tensor.key}' is {format_shape(tensor.shape)}: height and width are not fixed; "
                "expected them set to the module's expected input size", **where)


@check("IMG306")
def expected_size(ctx, options):
    """Every tag set resolves the size through its own attachments, as hub.Module(spec, tags) did."""
    for meta in ctx.facts.meta_graphs:
        for signature in ctx.image_signatures_in(meta):
            yield _expected_size(meta, signature, _where(ctx, meta, signature))


def _where(ctx, meta, signature) -> dict:
    tensor = image_input(signature)
    where = ctx.where(signature, "inputs", tensor.key if tensor else "")
    if meta is not ctx.primary:
        where = {**where, "tags": meta.tags,
                 "location": location(meta.tags, "signatures", signature.name, "inputs", tensor.key if tensor else "")}
    return where


def _expected_size(meta, signature, where):
    info = meta.image_module_info
    tensor = image_input(signature)
    graph = "" if meta.tags == () else f"in {format_tags(meta.tags)}: "
    if info is not None and info.problem:
        return violated(f"{graph}the image_module_info attachment is broken: {info.problem}", **where)
    expected = expected_image_size(meta, signature)
    if expected.size is None:
        return violated(f"{graph}hub.get_expected_image_size(signature='{signature.name}') would raise "
                        f"ValueError: {expected.problem}", **where)
    size = f"{expected.size.height}x{expected.size.width}"
    if expected.source == "image_module_info" and tensor is not None and _rank4(tensor):
        height, width = tensor.shape[1], tensor.shape[2]
        if (height not in (None, expected.size.height)) or (width not in (None, expected.size.width)):
            return violated(
                f"{graph}the attached ImageModuleInfo says {size}, but '{tensor.key}' is "
                f"{format_shape(tensor.shape)}; consumers would resize to {size} and fail to feed it", **where)
    source = "the attached ImageModuleInfo" if expected.source == "image_module_info" else "the input shape"
    count = meta.image_module_info_count
    note = f" (the last of {count} image_module_info attachments, as hub.Module read them)" if count > 1 else ""
    return passed(f"{graph}expected image size {size}, from {source}{note}", **where)


def _tf2_input_range(ctx, options):
    """The runtime comparison alone, on __call__ with training=False."""
    dtypes = {getattr(single_input(t), "dtype", None) for t in call_traces(ctx.facts) or ()}
    if not any(str(d).startswith(("float", "bfloat")) for d in dtypes):
        yield skipped(f"__call__ takes {'/'.join(sorted(map(str, dtypes)))}: its value range follows from the dtype "
                      "(see IMG302)", **TF2_WHERE)
        return
    if ctx.observations is None:
        yield skipped(ctx.runtime_skip_reason or ctx.runtime_error or "a TF2 model's input range is judged by "
                      "running it: the model was not run", **TF2_WHERE)
        return
    seen = call_observed(ctx)
    if seen.probes is None:
        yield seen.unobserved(**TF2_WHERE)
        return
    dynamic, measured = dynamic_evidence(seen, options)
    if dynamic:
        yield violated(f"the model seems to expect RGB values in [0, 255], not [0, 1]: runtime: {dynamic}",
                       evidence="runtime comparison", **TF2_WHERE)
    elif measured:
        yield passed(f"__call__ tells [0, 1] images apart; {measured}", evidence="runtime comparison", **TF2_WHERE)
    else:
        yield skipped("the [0, 255] batch did not run (see RUN501)", **TF2_WHERE)


def dynamic_evidence(seen, options):
    """(evidence or None, description of what was measured) from the range probes."""
    if seen.probes is None:
        return None, None
    import numpy as np

    scaled, unit = seen.default_rows(RANGE255), seen.default_rows(ALL)
    if scaled is None or unit is None:
        return None, None
    position = {index: row for row, index in enumerate(unit[0])}
    if not all(i in position for i in scaled[0]):
        return None, None
    at_unit = relative_spread(unit[1][[position[i] for i in scaled[0]]])
    at_raw = relative_spread(scaled[1])
    if not np.isfinite(at_unit) or not np.isfinite(at_raw):
        return None, "the output is not finite for these images (see RUN502)"
    measured = f"relative spread of 'default' across 4 images: {at_unit:.3g} at [0, 1], {at_raw:.3g} at [0, 255]"
    if at_unit == 0:
        return None, measured + " (the output does not vary; see RUN505)"
    if at_raw / at_unit > options["sensitivity_ratio"]:
        return measured + f", {at_raw / at_unit:.3g}x more at [0, 255]", measured
    return None, measured


@check("IMG307", needs=(RANGE255, ALL))
def input_range(ctx, options):
    if is_tf2(ctx):
        yield from _tf2_input_range(ctx, options)
        return
    for signature in ctx.image_signatures:
        tensor = image_input(signature)
        where = ctx.where(signature, "inputs", tensor.key if tensor else "")
        if tensor is None or not tensor.op_name:
            yield skipped("no image input identified (see IMG301)", **where)
            continue
        if not tensor.dtype.startswith(("float", "bfloat")):
            yield skipped(f"'{tensor.key}' is {tensor.dtype}: its value range follows from the dtype (see IMG302)",
                          **where)
            continue
        found = static_evidence(ctx.primary.graph, tensor.op_name, options)
        dynamic = None
        measured = None
        if ctx.observations is not None:
            dynamic, measured = dynamic_evidence(observed(ctx, ctx.primary.tags, signature.name), options)
        evidence = [f"static: {f}" for f in found] + ([f"runtime: {dynamic}"] if dynamic else [])
        halves = "static trace" + (" and runtime comparison" if measured else "")
        if evidence:
            yield violated("the module seems to expect RGB values in [0, 255], not [0, 1]: " + "; ".join(evidence),
                           evidence=halves, **where)
        else:
            text = "no [0, 255] preprocessing after the input"
            yield passed(text + (f"; {measured}" if measured else ""), evidence=halves, **where)
