"""RUN501, RUN502: the module runs at every batch size and stays finite."""

from __future__ import annotations

from ..facts.model import format_shape, format_tags
from . import check, location, passed, skipped, violated
from ._observed import image_name, observed


def _shape_problem(actual: tuple, declared, batch: int):
    """How ``actual`` (run at batch ``batch``) disagrees with ``declared``, B standing for the batch."""
    shown = "[" + ", ".join("B" if i == 0 and a == batch else str(a) for i, a in enumerate(actual)) + "]"
    if declared is None:
        return None if actual and actual[0] == batch else f"is {shown}, expected batch dimension B"
    expected = [batch if i == 0 and d is None else d for i, d in enumerate(declared)]
    if len(actual) != len(expected) or any(e is not None and a != e for a, e in zip(actual, expected)):
        return f"is {shown}, declared {format_shape(declared)}"
    return None


@check("RUN501")
def inference(ctx, options):
    for meta in ctx.facts.meta_graphs:
        run = ctx.observations.for_tags(meta.tags)
        for signature in ctx.image_signatures_in(meta):
            where = {**ctx.where(signature), "tags": meta.tags,
                     "location": location(meta.tags, "signatures", signature.name)}
            if run is not None and run.load_error:
                yield violated(f"{format_tags(meta.tags)} could not be loaded: {run.load_error}", **where)
                continue
            seen = observed(ctx, meta.tags, signature.name)
            if seen.probes is None:
                yield seen.unobserved(**where)
                continue
            problems: dict = {}  # problem text -> batch sizes it was seen at
            sizes = []
            for name, probe in seen.probes.items():
                if not name.startswith("size-"):
                    continue
                batch = len(probe.images)
                sizes.append(batch)
                if probe.error:
                    problems.setdefault(f"failed: {probe.error}", []).append(batch)
                    continue
                for tensor in signature.outputs:
                    tensor_name = ctx.observations.tensor(meta.tags, signature.name, tensor.key)
                    actual = probe.runs[0].shapes.get(tensor_name)
                    if actual is None:
                        continue
                    problem = _shape_problem(actual, tensor.shape, batch)
                    if tensor.key == "default" and problem is None and len(actual) != 2:
                        problem = f"is {list(actual)}, expected [B, N]"
                    if problem:
                        problems.setdefault(f"output '{tensor.key}' {problem}", []).append(batch)
            if problems:
                found = [f"B={', '.join(map(str, b))}: {p}" for p, b in problems.items()]
                more = f" (+{len(found) - 3} more)" if len(found) > 3 else ""
                yield violated("; ".join(found[:3]) + more, **where)
            else:
                yield passed(f"runs for B={', '.join(map(str, sizes))}; every output has its declared shape "
                             "with batch dimension B", **where)


@check("RUN502")
def finite(ctx, options):
    for meta in ctx.facts.meta_graphs:
        for signature in ctx.image_signatures_in(meta):
            where = {**ctx.where(signature), "tags": meta.tags,
                     "location": location(meta.tags, "signatures", signature.name)}
            seen = observed(ctx, meta.tags, signature.name)
            if seen.probes is None:
                yield seen.unobserved(**where)
                continue
            tensors = {ctx.observations.tensor(meta.tags, signature.name, t.key): t.key for t in signature.outputs}
            bad: dict = {}  # output key -> (images, passes)
            ran = 0
            for name, probe in seen.probes.items():
                if probe.scale != 1.0:
                    continue  # out-of-range probes (IMG307) may legitimately overflow
                for run in probe.runs:
                    ran += 1
                    for tensor, key in tensors.items():
                        if not run.finite.get(tensor, True):
                            images, passes = bad.setdefault(key, (set(), []))
                            images.update(_nonfinite_images(probe, run, tensor))
                            passes.append(name)
            if not ran:
                yield skipped("no probe ran (see RUN501)", **where)
            elif bad:
                found = [f"'{key}' in {len(passes)} of {ran} forward passes"
                         + (f", for {', '.join(sorted(images))}" if images else "")
                         for key, (images, passes) in sorted(bad.items())]
                yield violated("NaN or Inf: " + "; ".join(found), **where)
            else:
                yield passed(f"all outputs finite in {ran} forward pass(es) of synthetic images", **where)


def _nonfinite_images(probe, run, tensor) -> list:
    import numpy as np

    values = run.values.get(tensor)
    if values is None or values.ndim < 1:
        return []
    rows = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    return sorted({image_name(probe.images[i]) for i in np.flatnonzero(rows) if i < len(probe.images)})
