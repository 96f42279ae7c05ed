"""TXT711-TXT715: what real inference on synthetic strings shows (text modules).

The image runtime rules (RUN501-RUN505) made for text: the probes feed
``runtime.strings`` (sentences, a word, a URL, the empty string, CJK, accented,
emoji, 10 000 characters, out-of-vocabulary tokens) to the `default` signature.
A TF2 text embedding follows the same convention (string [batch] to float32
[batch, dim]): its ``__call__`` is judged as a `default` signature whose one
output is what ``__call__`` returns; TF2 preprocessors and encoders skip
(checks/txt2_run.py judges them).
"""

from __future__ import annotations

from ..facts.image import DEFAULT
from ..facts.model import SignatureFacts, TensorFacts, format_tags
# facts.objects is imported inside the functions that use it: a TF1 module's static check
# never loads the TF2 object facts (start-up cost, BENCHMARKS.md).
from ..facts.tf2 import CALL, call_traces
from ..probes import TEXT_ALL, TEXT_REPEAT, TEXT_SIZES, kind_of
from . import check, location, passed, skipped, violated
from ._observed import Observed, max_difference, observed, repeat_difference, tolerance

_DISTINCT_LABELS = ("sentence-cat", "sentence-weather", "url")


def _each(ctx, every_tag_set: bool = False):
    """(meta, signature, where, Observed) for `default` of the text module, per tag set; for a TF2
    text embedding, its ``__call__`` as a signature of the object graph's meta graph."""
    if ctx.tf2_kind is not None:
        yield from _each_tf2(ctx)
        return
    metas = ctx.facts.meta_graphs if every_tag_set else (ctx.primary,)
    for meta in metas:
        for signature in ctx.text_signatures:
            if meta.signature(signature.name) is None:
                continue
            where = {"tags": meta.tags, "signature": signature.name,
                     "location": location(meta.tags, "signatures", signature.name)}
            yield meta, meta.signature(signature.name), where, observed(ctx, meta.tags, signature.name)


def _each_tf2(ctx):
    from ..facts.objects import TensorSpec
    from ._tf2observed import WHERE, call_observed, tf2_tags
    from .txt2 import tf2_text_role

    meta = next(m for m in ctx.facts.meta_graphs if m.tags == tf2_tags(ctx))
    role = tf2_text_role(ctx)
    if role != "embedding":
        why = f"not a TF2 text embedding (its API: {role}; see TXT756-TXT758)" if role else "not a TF2 text embedding"
        yield meta, None, dict(WHERE), Observed(None, None, why)
        return
    traces = call_traces(ctx.facts) or ()
    output = next((t.outputs for t in traces if t.training in (False, None)), traces[0].outputs)
    seen = call_observed(ctx)
    tensor = TensorFacts(DEFAULT, seen.tensor or f"{CALL}/output", "float32",
                         output.shape if isinstance(output, TensorSpec) else None)
    yield meta, SignatureFacts(CALL, "", (), (tensor,)), dict(WHERE), seen


def _shape_problem(actual: tuple, declared, batch: int, key: str):
    expected = None if declared is None else [batch if i == 0 and d is None else d for i, d in enumerate(declared)]
    shown = "[" + ", ".join("B" if i == 0 and a == batch else str(a) for i, a in enumerate(actual)) + "]"
    if expected is not None and (len(actual) != len(expected)
                                 or any(e is not None and a != e for a, e in zip(actual, expected))):
        return f"output '{key}' is {shown}, declared {list(declared)}".replace("None", "?")
    if key == DEFAULT and (len(actual) != 2 or actual[0] != batch):
        return f"output '{key}' is {shown}, expected [B, N]"
    return None


@check("TXT711", needs=(TEXT_SIZES, TEXT_ALL))
def text_inference(ctx, options):
    for meta, signature, where, seen in _each(ctx, every_tag_set=True):
        run = ctx.observations.for_tags(meta.tags)
        if run is not None and run.load_error:
            yield violated(f"{format_tags(meta.tags)} could not be loaded: {run.load_error}", **where)
            continue
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        problems: dict = {}
        sizes = []
        for name, probe in seen.probes.items():
            if kind_of(name) not in (TEXT_SIZES, TEXT_ALL):
                continue
            batch = len(probe.images)
            sizes.append(batch)
            if probe.error:
                fed = ", ".join(dict.fromkeys(probe.labels))
                problems.setdefault(f"failed on {fed}: {probe.error}", []).append(batch)
                continue
            for tensor in signature.outputs:
                actual = probe.runs[0].shapes.get(ctx.observations.tensor(meta.tags, signature.name, tensor.key))
                problem = None if actual is None else _shape_problem(actual, tensor.shape, batch, tensor.key)
                if problem:
                    problems.setdefault(problem, []).append(batch)
        if problems:
            found = [f"B={', '.join(map(str, b))}: {p}" for p, b in problems.items()]
            yield violated("; ".join(found[:3]) + (f" (+{len(found) - 3} more)" if len(found) > 3 else ""), **where)
        else:
            yield passed(f"{format_tags(meta.tags)}: runs for B={', '.join(map(str, sorted(set(sizes))))} on every "
                         "synthetic string; every output has its declared shape with batch dimension B", **where)


@check("TXT712", needs=(TEXT_SIZES, TEXT_ALL))
def text_finite(ctx, options):
    import numpy as np

    for meta, signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        bad, ran = {}, 0
        for name, probe in seen.probes.items():
            for run in probe.runs:
                ran += 1
                values = run.values.get(seen.tensor)
                if not run.finite.get(seen.tensor, True) and values is not None:
                    rows = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
                    bad.update((probe.labels[i], None) for i in np.flatnonzero(rows) if i < len(probe.labels))
                elif any(not ok for ok in run.finite.values()):
                    bad.setdefault("an extra output", None)
        if not ran:
            yield skipped("no probe ran (see TXT711)", **where)
        elif bad:
            yield violated(f"NaN or Inf for {', '.join(bad)}; an embedding must be finite for every string, "
                           "the empty one and unknown words included", **where)
        else:
            yield passed(f"all outputs finite in {ran} forward pass(es) of synthetic strings", **where)


@check("TXT714", needs=(TEXT_REPEAT,))
def text_deterministic(ctx, options):
    for meta, signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        repeat = repeat_difference(seen, TEXT_REPEAT)
        if repeat is None:
            yield skipped("the repeated strings did not run (see TXT711)", **where)
            continue
        difference, reference = repeat
        limit = tolerance(reference, options["rtol"], options["atol"])
        if difference > limit:
            yield violated(f"the same strings twice give different 'default' outputs: max |diff| {difference:.3g} > "
                           f"tolerance {limit:.3g}; randomness is active in the inference graph", **where)
        else:
            yield passed(f"the same strings twice: max |diff| {difference:.3g} (tolerance {limit:.3g})", **where)


@check("TXT713", needs=(TEXT_SIZES, TEXT_ALL, TEXT_REPEAT))
def text_batch_independence(ctx, options):
    for meta, signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        repeat = repeat_difference(seen, TEXT_REPEAT)
        if repeat is not None and repeat[0] > tolerance(repeat[1], 1e-5, 1e-6):
            yield skipped("outputs are not deterministic (see TXT714), so batch independence cannot be judged",
                          **where)
            continue
        by_string: dict = {}
        for name, probe in seen.probes.items():
            rows = seen.default_rows(name)
            if rows is None or name == TEXT_REPEAT or len(rows[1]) != len(rows[0]):
                continue  # a batch with rows missing or added is TXT711's
            for position, index in enumerate(rows[0]):
                by_string.setdefault(index, []).append((len(rows[0]), rows[1][position]))
        compared = {i: found for i, found in by_string.items() if len({b for b, _ in found}) > 1}
        if not compared:
            yield skipped("no string was observed in two different batches (see TXT711)", **where)
            continue
        worst = None
        for index, found in compared.items():
            for other in found[1:]:
                difference = max_difference(found[0][1], other[1])
                limit = tolerance(found[0][1], options["rtol"], options["atol"])
                if worst is None or difference - limit > worst[0] - worst[1]:
                    worst = (difference, limit, index, found[0][0], other[0])
        difference, limit, index, alone, other = worst
        text = (f"{seen.label(index)} in a batch of {alone} vs a batch of {other}: max |diff| {difference:.3g} "
                f"(tolerance {limit:.3g})")
        if difference > limit:
            yield violated(f"'default' depends on the other strings in the batch: {text}", **where)
        else:
            yield passed(f"{len(compared)} string(s) compared across batch sizes; worst: {text}", **where)


@check("TXT715", needs=(TEXT_ALL,))
def text_input_sensitive(ctx, options):
    import numpy as np

    for meta, signature, where, seen in _each(ctx):
        if seen.probes is None:
            yield seen.unobserved(**where)
            continue
        rows = seen.default_rows(TEXT_ALL)
        if rows is None:
            yield skipped("the batch of all synthetic strings did not run (see TXT711)", **where)
            continue
        probe = seen.probes[TEXT_ALL]
        indices, values = rows
        flat = values.reshape(len(values), -1)
        if len(flat) != len(indices):
            yield skipped(f"{len(flat)} embeddings for {len(indices)} strings (see TXT711)", **where)
            continue
        chosen = [p for p, i in enumerate(indices) if probe.label(i) in _DISTINCT_LABELS
                  and np.isfinite(flat[p]).all()]
        if len(chosen) < 2:
            yield skipped("fewer than two finite embeddings of distinct sentences (see TXT712)", **where)
            continue
        limit = tolerance(flat[chosen], options["rtol"], 0.0)
        same = [(a, b) for n, a in enumerate(chosen) for b in chosen[n + 1:]
                if max_difference(flat[a], flat[b]) <= limit]
        if same:
            a, b = same[0]
            yield violated(f"{probe.label(indices[a])} and {probe.label(indices[b])} give the same 'default' output "
                           f"({len(same)} equal pair(s) among {len(chosen)} distinct sentences); "
                           "the embedding ignores its input", **where)
        else:
            yield passed(f"{len(chosen)} distinct sentences give {len(chosen)} distinct embeddings", **where)
