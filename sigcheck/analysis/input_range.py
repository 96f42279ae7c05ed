"""Evidence that a module wants raw [0, 255] pixels: a static trace and a spread measure.

Static: the first ops after the image input -- a division by ~255 (or a
multiplication by ~1/255) or a subtraction of large constants such as
ImageNet channel means.  Dynamic: how much the output varies across images,
relative to its magnitude (a module that expects [0, 255] barely tells
[0, 1] images apart).
"""

from __future__ import annotations

from ..facts.graph import input_node_name

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
