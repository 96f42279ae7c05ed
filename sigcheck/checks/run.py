"""RUN501-RUN505: what real inference on synthetic images shows.

RUN501, RUN502: the module runs at every batch size and stays finite.

RUN503-RUN505: what the inference graph's `default` output does.

All judged in the inference tag set, where the module must be a
deterministic function of each image alone.
"""

from __future__ import annotations

from ..facts.model import format_shape, format_tags
from ..probes import ALL, OUTPUTS, REPEAT, SIZES, kind_of
from . import check, location, passed, skipped, violated
from . import _tf2run as tf2run
from ._tf2observed import WHERE as TF2_WHERE
from ._tf2observed import call_observed
from ._observed import (
    each_default_observed,
    max_difference,
    observed,
    repeat_difference,
    tolerance,
)


def _shape_problem(actual: tuple, declared, batch: int):
    """How ``actual`` (run at batch ``batch``) disagrees with ``declared``, B standing for the batch."""
    shown = "[" + ", ".join("B" if i == 0 and a == batch else str(a) for i, a in enumerate(actual)) + "]"
    if declared is None:
        return None if actual and actual[0] == batch else f"is {shown}, expected batch dimension B"
    expected = [batch if i == 0 and d is None else d for i, d in enumerate(declared)]
    if len(actual) != len(expected) or any(e is not None and a != e for a, e in zip(actual, expected)):
        return f"is {shown}, declared {format_shape(declared)}"
    return None


@check("RUN501", needs=(SIZES,))
def inference(ctx, options):
    if ctx.tf2_kind is not None:
        yield from tf2run.inference(ctx)
        return
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
                if kind_of(name) != SIZES:
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


def _finite_targets(ctx):
    """(where, Observed, {tensor: output key}) for every image signature of every tag set, or TF2's __call__."""
    if ctx.tf2_kind is not None:
        seen = call_observed(ctx)
        yield dict(TF2_WHERE), seen, {seen.tensor: "__call__ output"}
        return
    for meta in ctx.facts.meta_graphs:
        for signature in ctx.image_signatures_in(meta):
            where = {**ctx.where(signature), "tags": meta.tags,
                     "location": location(meta.tags, "signatures", signature.name)}
            seen = observed(ctx, meta.tags, signature.name)
            tensors = None if seen.probes is None else {
                ctx.observations.tensor(meta.tags, signature.name, t.key): t.key for t in signature.outputs}
            yield where, seen, tensors


@check("RUN502", needs=(SIZES, ALL))
def finite(ctx, options):
    for where, seen, tensors in _finite_targets(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
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
    return sorted({probe.labels[i] for i in np.flatnonzero(rows) if i < len(probe.labels)})


@check("RUN504", needs=(REPEAT,))
def deterministic(ctx, options):
    for signature, where, seen in each_default_observed(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        repeat = repeat_difference(seen, REPEAT)
        if repeat is None:
            error = seen.probes[REPEAT].error if REPEAT in seen.probes else "not run"
            yield skipped(f"the repeated batch did not run ({error}; see RUN501)", **where)
            continue
        difference, reference = repeat
        limit = tolerance(reference, options["rtol"], options["atol"])
        if difference > limit:
            yield violated(f"the same batch twice gives different 'default' outputs: max |diff| {difference:.3g} "
                           f"> tolerance {limit:.3g}; randomness is active in the inference graph", **where)
        else:
            yield passed(f"the same batch twice: max |diff| {difference:.3g} (tolerance {limit:.3g})", **where)


@check("RUN503", needs=(SIZES, ALL, REPEAT))
def batch_independence(ctx, options):
    for signature, where, seen in each_default_observed(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        repeat = repeat_difference(seen, REPEAT)
        if repeat is not None and repeat[0] > tolerance(repeat[1], 1e-5, 1e-6):
            yield skipped("outputs are not deterministic (see RUN504), so batch independence cannot be judged",
                          **where)
            continue
        by_image: dict = {}
        for name, probe in seen.probes.items():
            rows = seen.default_rows(name)
            if rows is None or probe.scale != 1.0 or name == REPEAT:
                continue
            for position, index in enumerate(rows[0]):
                by_image.setdefault(index, []).append((len(rows[0]), name, rows[1][position]))
        compared = {i: found for i, found in by_image.items() if len({b for b, _, _ in found}) > 1}
        if not compared:
            yield skipped("no image was observed in two different batches (see RUN501)", **where)
            continue
        worst = (0.0, 0.0, None)
        for index, found in compared.items():
            alone = found[0]
            for other in found[1:]:
                difference = max_difference(alone[2], other[2])
                limit = tolerance(alone[2], options["rtol"], options["atol"])
                if difference - limit > worst[0] - worst[1] or worst[2] is None:
                    worst = (difference, limit, (index, alone, other))
        difference, limit, (index, alone, other) = worst
        text = (f"{seen.label(index)} in a batch of {alone[0]} vs a batch of {other[0]}: "
                f"max |diff| {difference:.3g} (tolerance {limit:.3g})")
        if difference > limit:
            yield violated(f"'default' depends on the other images in the batch: {text}; "
                           "batch statistics in the inference graph?", **where)
        else:
            yield passed(f"{len(compared)} image(s) compared across batch sizes; worst: {text}", **where)


@check("RUN505", needs=(ALL,))
def input_sensitive(ctx, options):
    import numpy as np

    for signature, where, seen in each_default_observed(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        rows = seen.default_rows(ALL)
        if rows is None:
            yield skipped("the batch of all synthetic images did not run (see RUN501)", **where)
            continue
        indices, values = rows
        flat = values.reshape(len(values), -1)
        finite = [i for i in range(len(flat)) if np.isfinite(flat[i]).all()]
        if len(finite) < 2:
            yield skipped("fewer than two finite outputs to compare (see RUN502)", **where)
            continue
        limit = tolerance(flat[finite], options["rtol"], 0.0)
        distinct = []
        for i in finite:
            if not any(max_difference(flat[i], flat[j]) <= limit for j in distinct):
                distinct.append(i)
        spread = max(max_difference(flat[finite[0]], flat[i]) for i in finite)
        if len(distinct) == 1:
            yield violated(f"all {len(finite)} synthetic images give the same 'default' output "
                           f"(max difference {spread:.3g}); the output ignores the input", **where)
        else:
            yield passed(f"{len(finite)} synthetic images give {len(distinct)} distinct outputs", **where)


@check("RUN506", needs=(OUTPUTS,))
def golden_outputs(ctx, options):
    """Every golden output against the module's, element by element: |new - golden| <= atol + rtol * |golden|."""
    import numpy as np

    from ..facts.golden import read_golden

    if not options.get("golden"):
        yield skipped("no golden outputs given (--golden DIR, or golden = \"DIR\" in [tool.sigcheck])")
        return
    golden = read_golden(options["golden"])  # the api has verified it and its interface already
    for out in golden.outputs:
        signature = ctx.primary.signature(out.signature)
        where = {**ctx.where(signature, "outputs", out.key)} if signature is not None else {}
        seen = observed(ctx, ctx.primary.tags, out.signature)
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        probe = seen.probes.get(OUTPUTS)
        tensor = ctx.observations.tensor(ctx.primary.tags, out.signature, out.key)
        if probe is None or probe.error or tensor not in probe.runs[0].values:
            yield skipped(f"not run: {probe.error if probe is not None and probe.error else 'no values'} "
                          "(see RUN501)", **where)
            continue
        actual = np.asarray(probe.runs[0].values[tensor], np.float64)
        expected = np.asarray(out.values, np.float64)
        if actual.shape != expected.shape:
            yield violated(f"'{out.key}' is {list(actual.shape)}, the golden one {list(expected.shape)}", **where)
            continue
        excess = np.abs(actual - expected) - (out.atol + out.rtol * np.abs(expected))
        excess = np.where(np.isnan(excess), np.inf, excess)
        index = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.size else None
        if index is not None and excess[index] > 0:
            bad = int(np.count_nonzero(excess > 0))
            images = sorted({golden.labels[i] for i in np.nonzero(excess > 0)[0]})
            yield violated(f"'{out.key}' differs from the golden output in {bad} of {excess.size} elements "
                           f"({', '.join(images)}); worst: {golden.labels[index[0]]} element {[int(i) for i in index[1:]]} is "
                           f"{actual[index]:.6g}, golden {expected[index]:.6g} (rtol {out.rtol:g}, atol {out.atol:g})",
                           **where)
        else:
            worst = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
            yield passed(f"'{out.key}' matches the golden output for {len(golden.labels)} images "
                         f"(max |diff| {worst:.3g}; rtol {out.rtol:g}, atol {out.atol:g})", **where)
