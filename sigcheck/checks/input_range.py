"""IMG307: does the module expect [0, 1] RGB values, or raw [0, 255]?

Static half: the first ops after `images` -- a division by ~255 (or a
multiplication by ~1/255) or a subtraction of large constants such as ImageNet
channel means means the module wants raw pixel values.  Runtime half (when
inference ran): the output's relative spread across images at [0, 1] vs at
[0, 255]; a module that expects [0, 255] barely tells [0, 1] images apart.
"""

from __future__ import annotations

from ..facts.graph import input_node_name
from ..facts.image import image_input
from . import check, passed, skipped, violated
from ._observed import observed

# Ops that pass the image through unchanged in value range.
_TRANSPARENT = {"Identity", "Cast", "Transpose", "Reshape", "ExpandDims", "Squeeze", "StopGradient"}
_DIVIDE = {"RealDiv", "Div", "DivNoNan", "TruncateDiv"}
_MULTIPLY = {"Mul"}
_SUBTRACT = {"Sub"}
_ADD = {"Add", "AddV2", "BiasAdd"}


def static_evidence(graph, input_op: str, options) -> list:
    """Descriptions of raw-pixel preprocessing within ``depth`` ops of the input."""
    found, frontier, seen = [], [input_op], {input_op}
    for _ in range(int(options["depth"])):
        following = []
        for name in frontier:
            for node in graph.consumers.get(name, ()):
                if node.name in seen:
                    continue
                seen.add(node.name)
                note = _suspicious(graph, node, name, options)
                if note:
                    found.append(note)
                elif node.op in _TRANSPARENT:
                    following.append(node.name)
        frontier = following
    return found


def _suspicious(graph, node, source: str, options):
    constants = []
    for raw in node.inputs:
        name, control = input_node_name(raw)
        other = graph.by_name.get(name)
        if not control and name != source and other is not None and other.op == "Const" and other.values:
            constants.append(other.values)
    if not constants:
        return None
    values = [abs(v) for v in constants[0]]
    low, high = options["scale_min"], options["scale_max"]
    if node.op in _DIVIDE and all(low <= v <= high for v in values):
        return f"{node.name} ({node.op}) divides the input by {_show(constants[0])}"
    if node.op in _MULTIPLY and all(v and low <= 1 / v <= high for v in values):
        return f"{node.name} ({node.op}) multiplies the input by {_show(constants[0])} (= 1/{1 / values[0]:.4g})"
    signed = constants[0]
    if node.op in _SUBTRACT and all(v >= options["offset_min"] for v in signed):
        return f"{node.name} ({node.op}) subtracts {_show(signed)} from the input (means of raw pixel values?)"
    if node.op in _ADD and all(v <= -options["offset_min"] for v in signed):
        return f"{node.name} ({node.op}) adds {_show(signed)} to the input (means of raw pixel values?)"
    return None


def _show(values) -> str:
    shown = ", ".join(f"{v:.6g}" for v in values[:4])
    return shown if len(values) == 1 else f"[{shown}{', ...' if len(values) > 4 else ''}]"


def relative_spread(values) -> float:
    """Mean over features of the std across images, relative to the mean magnitude."""
    import numpy as np

    values = values.reshape(len(values), -1)
    values = values[np.isfinite(values).all(axis=1)]
    if len(values) < 2:
        return float("nan")
    magnitude = float(np.mean(np.abs(values)))
    return float(np.mean(values.std(axis=0))) / magnitude if magnitude else 0.0


def dynamic_evidence(seen, options):
    """(evidence or None, description of what was measured) from the range probes."""
    if seen.probes is None:
        return None, None
    import numpy as np

    scaled, unit = seen.default_rows("range255"), seen.default_rows("all")
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


@check("IMG307")
def input_range(ctx, options):
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

