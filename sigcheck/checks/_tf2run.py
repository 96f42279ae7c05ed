"""The image runtime rules' judgement of a TF2 model's ``__call__`` where it differs from TF1's.

RUN501 (every batch size gives [B, N] of the declared dtype), OUT405 (only the
dynamic half: repeats with training=False and with training=True) and OUT412
(N at two image sizes, TF2 only).  The rules' modules call these when
``ctx.tf2_kind`` is set; the rest of the runtime rules read ``__call__``
through ``_observed.each_default_observed`` like a TF1 signature.
"""

from __future__ import annotations

from ..analysis.dropout import dynamic_dropout
# facts.objects is imported inside the functions that use it: a TF1 module's static check
# never loads the TF2 object facts (start-up cost, BENCHMARKS.md).
from ..facts.tf2 import CALL, call_traces
from ..probes import DROPOUT, REPEAT, RESIZED, SIZES, kind_of
from . import passed, skipped, violated
from ._tf2observed import WHERE as TF2_WHERE
from ._tf2observed import call_observed, group_size, tf2_tags


def inference(ctx):
    """__call__ at every batch size B returns float32 [B, N]."""
    from ..facts.objects import TensorSpec
    run = ctx.observations.for_tags(tf2_tags(ctx))
    if run is not None and run.load_error:
        yield violated(f"tf.saved_model.load failed: {run.load_error}", **TF2_WHERE)
        return
    seen = call_observed(ctx)
    if seen.probes is None:
        yield seen.unobserved(**TF2_WHERE)
        return
    problems: dict = {}  # problem text -> batch sizes it was seen at
    sizes, widths, dtypes = [], set(), set()
    declared = {t.outputs.dtype for t in call_traces(ctx.facts) or () if isinstance(t.outputs, TensorSpec)}
    for name, probe in seen.probes.items():
        if kind_of(name) != SIZES:
            continue
        batch = len(probe.images)
        sizes.append(batch)
        problem = f"failed: {probe.error}" if probe.error else _output_problem(probe.runs[0], seen.tensor, batch,
                                                                                   declared)
        if problem:
            problems.setdefault(problem, []).append(batch)
        else:
            widths.add(probe.runs[0].shapes[seen.tensor][1])
            dtypes.add(probe.runs[0].dtypes.get(seen.tensor, "?"))
    if problems:
        found = [f"B={', '.join(map(str, b))}: {p}" for p, b in problems.items()]
        yield violated("; ".join(found[:3]) + (f" (+{len(found) - 3} more)" if len(found) > 3 else ""), **TF2_WHERE)
    elif sizes:
        yield passed(f"__call__ runs for B={', '.join(map(str, sizes))} and returns {'/'.join(sorted(dtypes))} [B, "
                     f"{'/'.join(map(str, sorted(widths)))}] as its traces declare", **TF2_WHERE)
    else:
        yield skipped("no batch size was run", **TF2_WHERE)


def _output_problem(run, tensor, batch: int, declared: set):
    shape, dtype = run.shapes.get(tensor), run.dtypes.get(tensor)
    if shape is None:
        return "returned no single tensor"
    shown = "[" + ", ".join("B" if i == 0 and a == batch else str(a) for i, a in enumerate(shape)) + "]"
    if len(shape) != 2 or shape[0] != batch:
        return f"returned {shown}, expected [B, N]"
    if dtype is not None and declared and dtype not in declared:
        return f"returned {dtype} {shown}, declared {'/'.join(sorted(declared))}"
    return None


def no_output_dropout(ctx, options):
    """The dynamic half alone: __call__ repeated with training=False (REPEAT) and training=True (DROPOUT)."""
    if ctx.observations is None:
        yield skipped(ctx.runtime_skip_reason or ctx.runtime_error or "a TF2 model's output dropout is judged by "
                      "running it (training=False and True): the model was not run", **TF2_WHERE)
        return
    import numpy as np

    seen = call_observed(ctx, every_probe=True)
    if seen.probes is None:
        yield seen.unobserved(**TF2_WHERE)
        return
    found, measured = [], []
    for probe, mode in ((REPEAT, "training=False"), (DROPOUT, "training=True")):
        runs = [seen.default_rows(probe, i) for i in range(len(seen.probes[probe].runs))] \
            if probe in seen.probes else []
        if len(runs) < 2 or any(r is None for r in runs):
            continue
        masked, text = dynamic_dropout(np.stack([r[1] for r in runs]), options["dropout_pattern_share"])
        measured.append(f"{mode}: {text}")
        found += [mode] if masked else []
    if not measured:
        yield skipped("no repeated call of __call__ ran (see RUN501)", **TF2_WHERE)
    elif found:
        yield violated(f"dropout on __call__'s output with {' and '.join(found)}, found by dynamic runs: "
                       + "; ".join(measured), evidence="dynamic runs", **TF2_WHERE)
    else:
        yield passed("no dropout on __call__'s output: " + "; ".join(measured), evidence="dynamic runs",
                     **TF2_WHERE)


def size_independent_n(ctx):
    seen = call_observed(ctx, every_probe=True)
    if seen.probes is None:
        yield seen.unobserved(**TF2_WHERE)
        return
    size = group_size(ctx)
    resized = seen.probes.get(RESIZED)
    if resized is None:
        yield skipped(f"__call__ takes one image size ({size[0]}x{size[1]}): N cannot change with it", **TF2_WHERE)
        return
    second = "x".join(map(str, _probe_size(ctx, RESIZED)))
    at = {}
    for name, probe in seen.probes.items():
        rows = seen.default_rows(name)
        if name not in (RESIZED, DROPOUT) and rows is not None and rows[1].ndim == 2:
            at.setdefault(rows[1].shape[1], name)
    other = seen.default_rows(RESIZED)
    if resized.error or other is None or other[1].ndim != 2 or not at:
        why = resized.error or "no [B, N] output"
        yield skipped(f"not compared: __call__ at {second}: {why} (the model's documented size range may "
                      "exclude it; see RUN501)", **TF2_WHERE)
        return
    n, first = other[1].shape[1], "x".join(map(str, size))
    if set(at) != {n}:
        yield violated(f"N is {'/'.join(map(str, sorted(at)))} at {first} but {n} at {second}: the output size "
                       "follows the image size", **TF2_WHERE)
    else:
        yield passed(f"N = {n} at {first} and at {second}", **TF2_WHERE)


def _probe_size(ctx, name: str) -> tuple:
    tag_plan = ctx.observations.plan.for_tags(tf2_tags(ctx))
    group = tag_plan.group_for(CALL) if tag_plan else None
    return next((tuple(p.size) for p in (group.probes if group else ()) if p.name == name), ())
