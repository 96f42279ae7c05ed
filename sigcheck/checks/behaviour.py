"""RUN503-RUN505, OUT407: what the inference graph's `default` output does.

All judged in the inference tag set, where the module must be a
deterministic function of each image alone.
"""

from __future__ import annotations

from ..facts.image import DEFAULT
from . import check, passed, skipped, violated
from ._observed import image_name, max_difference, observed, tolerance


def _each(ctx):
    for signature in ctx.image_signatures:
        yield signature, ctx.where(signature, "outputs", DEFAULT), observed(ctx, ctx.primary.tags, signature.name)


def _repeat_difference(seen):
    """Max difference between the two runs of the repeat probe, or None."""
    first, second = seen.default_rows("repeat", 0), seen.default_rows("repeat", 1)
    if first is None or second is None:
        return None
    return max_difference(first[1], second[1]), first[1]


@check("RUN504")
def deterministic(ctx, options):
    for signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        repeat = _repeat_difference(seen)
        if repeat is None:
            error = seen.probes["repeat"].error if "repeat" in seen.probes else "not run"
            yield skipped(f"the repeated batch did not run ({error}; see RUN501)", **where)
            continue
        difference, reference = repeat
        limit = tolerance(reference, options["rtol"], options["atol"])
        if difference > limit:
            yield violated(f"the same batch twice gives different 'default' outputs: max |diff| {difference:.3g} "
                           f"> tolerance {limit:.3g}; randomness is active in the inference graph", **where)
        else:
            yield passed(f"the same batch twice: max |diff| {difference:.3g} (tolerance {limit:.3g})", **where)


@check("RUN503")
def batch_independence(ctx, options):
    for signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        repeat = _repeat_difference(seen)
        if repeat is not None and repeat[0] > tolerance(repeat[1], 1e-5, 1e-6):
            yield skipped("outputs are not deterministic (see RUN504), so batch independence cannot be judged",
                          **where)
            continue
        by_image: dict = {}
        for name, probe in seen.probes.items():
            rows = seen.default_rows(name)
            if rows is None or probe.scale != 1.0 or name == "repeat":
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
        text = (f"{image_name(index)} in a batch of {alone[0]} vs a batch of {other[0]}: "
                f"max |diff| {difference:.3g} (tolerance {limit:.3g})")
        if difference > limit:
            yield violated(f"'default' depends on the other images in the batch: {text}; "
                           "batch statistics in the inference graph?", **where)
        else:
            yield passed(f"{len(compared)} image(s) compared across batch sizes; worst: {text}", **where)


@check("RUN505")
def input_sensitive(ctx, options):
    import numpy as np

    for signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        rows = seen.default_rows("all")
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


def _is_classification(ctx, signature) -> bool:
    if signature.name == "image_classification":
        return True
    named = ctx.primary.signature("image_classification")
    return signature.name == DEFAULT and named is not None and named.interface() == signature.interface()


@check("OUT407")
def logits_not_probabilities(ctx, options):
    import numpy as np

    for signature, where, seen in _each(ctx):
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
        if sums_to_one:
            yield violated(f"on every batch the rows of 'default' lie in [0, 1] and sum to 1 (e.g. [{example}, ...]): "
                           "these look like softmax probabilities, not logits", **where)
        elif open_unit and values.shape[1] > 1:
            yield violated(f"every element of 'default' lies strictly inside (0, 1) (e.g. [{example}, ...]): "
                           "these look like sigmoid probabilities, not logits", **where)
        else:
            low, high = float(values.min()), float(values.max())
            yield passed(f"'default' ranges over [{low:.3g}, {high:.3g}]: scores, not probabilities", **where)
