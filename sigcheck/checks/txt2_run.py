"""TXT756-TXT758: what real inference shows of a TF2 text preprocessor and encoder.

A TF2 text embedding is judged at run time by TXT711-TXT715 (the TF1 text
convention).  A preprocessor's ``__call__`` is fed the synthetic strings of
``runtime.strings`` (TEXT_SIZES, TEXT_ALL, TEXT_REPEAT with training=False when
it takes ``training``, TF2_TRAINING with training=True) and its ``tokenize`` the
same strings (TF2_TOKENIZE); an encoder's ``__call__`` is fed synthetic token
ids (TF2_IDS: small word ids, a mask, zero type ids) at each batch size.
"""

from __future__ import annotations

from ..probes import TEXT_ALL, TEXT_REPEAT, TEXT_SIZES, TF2_IDS, TF2_TOKENIZE, TF2_TRAINING, kind_of
from . import check, passed, skipped, violated
from ._observed import max_difference
from ._tf2observed import WHERE, call_observed
from .txt2 import tf2_text_role

_INTS = ("int32",)
_FLOATS = ("float32",)


def _observed_role(ctx, wanted: str) -> tuple:
    """(observations of __call__, None) for a TF2 text model of API ``wanted``; else (None, the result saying why not)."""
    role = tf2_text_role(ctx)
    if role != wanted:
        return None, skipped(f"not a TF2 text {wanted}" + (f" (its API: {role})" if role else ""), **WHERE)
    seen = call_observed(ctx)
    return (None, seen.unobserved(**WHERE)) if seen.probes is None else (seen, None)


def _leaves(run, tensor: str) -> dict:
    """output key (``input_mask``, ``pooled_output``...) -> shape of one run's dict output."""
    prefix = f"{tensor}/"
    return {name[len(prefix):]: shape for name, shape in run.shapes.items() if name.startswith(prefix)}


def _summary(problems: dict) -> str:
    found = [f"B={', '.join(map(str, sorted(set(b))))}: {p}" for p, b in problems.items()]
    return "; ".join(found[:3]) + (f" (+{len(found) - 3} more)" if len(found) > 3 else "")


def _runs_of(seen, kinds):
    """(batch, probe) of every probe of ``kinds`` that was run."""
    return [(len(p.images), p) for name, p in seen.probes.items() if kind_of(name) in kinds]


@check("TXT756", needs=(TEXT_SIZES, TEXT_ALL, TEXT_REPEAT, TF2_TRAINING))
def preprocessor_inference(ctx, options):
    seen, why_not = _observed_role(ctx, "preprocessor")
    if why_not:
        yield why_not
        return
    problems: dict = {}
    lengths = set()
    for batch, probe in _runs_of(seen, (TEXT_SIZES, TEXT_ALL, TEXT_REPEAT)):
        if probe.error:
            problems.setdefault(f"failed on {', '.join(dict.fromkeys(probe.labels))}: {probe.error}", []).append(batch)
            continue
        run = probe.runs[0]
        for key, shape in _leaves(run, seen.tensor).items():
            dtype = run.dtypes.get(f"{seen.tensor}/{key}")
            if dtype not in _INTS or len(shape) != 2 or shape[0] != batch:
                problems.setdefault(f"'{key}' is {dtype} {list(shape)}, expected int32 [B, seq_length]",
                                    []).append(batch)
            else:
                lengths.add(shape[1])
        if not _leaves(run, seen.tensor):
            problems.setdefault("__call__ returns no dict of tensors", []).append(batch)
    if len(lengths) > 1:
        problems.setdefault(f"the outputs have different seq_lengths {sorted(lengths)}", []).append(0)
    training = _training_problem(seen)
    if training:
        problems.setdefault(training, []).append(len(seen.probes[TF2_TRAINING].images))
    if problems:
        yield violated(_summary(problems), **WHERE)
    elif not lengths:
        yield skipped("no batch of strings was run", **WHERE)
    else:
        trained = " and training=True gives the same tensors" if TF2_TRAINING in seen.probes else ""
        yield passed(f"every synthetic string at every batch size gives int32 [B, {lengths.pop()}] "
                     f"tensors{trained}", **WHERE)


def _training_problem(seen):
    """Why the outputs with training=True differ from training=False on the same strings, or None."""
    trained = seen.probes.get(TF2_TRAINING)
    inference = seen.probes.get(TEXT_REPEAT)
    if trained is None or inference is None or inference.error or not inference.runs:
        return None
    if trained.error:
        return f"training=True fails: {trained.error}"
    differ = sorted(k for k, v in inference.runs[0].values.items()
                    if max_difference(v, trained.runs[0].values.get(k, v[:0])) != 0.0)
    if differ:
        keys = ", ".join(k.rsplit("/", 1)[-1] for k in differ)
        return f"training=True changes {keys}; a preprocessor's training argument has no effect"
    return None


@check("TXT757", needs=(TF2_IDS,))
def encoder_inference(ctx, options):
    seen, why_not = _observed_role(ctx, "encoder")
    if why_not:
        yield why_not
        return
    problems: dict = {}
    batches = []
    for batch, probe in _runs_of(seen, (TF2_IDS,)):
        batches.append(batch)
        if probe.error:
            problems.setdefault(f"failed: {probe.error}", []).append(batch)
            continue
        run = probe.runs[0]
        for problem in _encoder_problems(run, seen.tensor, batch):
            problems.setdefault(problem, []).append(batch)
    if problems:
        yield violated(_summary(problems), **WHERE)
    elif not batches:
        yield skipped("no batch of token ids was run", **WHERE)
    else:
        yield passed(f"synthetic token ids at B={', '.join(map(str, sorted(batches)))} give 'default' "
                     "float32 [B, dim] (and pooled_output, sequence_output as the API says)", **WHERE)


def _encoder_problems(run, tensor: str, batch: int) -> list:
    leaves = _leaves(run, tensor)
    if "default" not in leaves:
        return [f"no 'default' output (got {', '.join(sorted(leaves)) or 'no dict'})"]
    wanted = {"default": 2, "pooled_output": 2, "sequence_output": 3}
    found = []
    for key, rank in wanted.items():
        shape = leaves.get(key)
        dtype = run.dtypes.get(f"{tensor}/{key}")
        if shape is not None and (dtype not in _FLOATS or len(shape) != rank or shape[0] != batch):
            expected = "[B, dim]" if rank == 2 else "[B, seq_length, dim]"
            found.append(f"'{key}' is {dtype} {list(shape)}, expected float32 {expected}")
    return found


@check("TXT758", needs=(TF2_TOKENIZE,))
def tokenize_inference(ctx, options):
    seen, why_not = _observed_role(ctx, "preprocessor")
    if why_not:
        yield why_not
        return
    probe = seen.probes.get(TF2_TOKENIZE)
    if probe is None:
        yield skipped("no tokenize sub-callable", **WHERE)
        return
    where = {"location": "objects/tokenize"}
    if probe.error:
        yield violated(f"tokenize fails on the synthetic strings: {probe.error}", **where)
        return
    got = probe.details
    rows = len(probe.images)
    if got.get("type") != "RaggedTensor" or got.get("dtype") not in _INTS or got.get("ragged_rank", 0) < 1 \
            or got.get("rows") != rows:
        yield violated(f"tokenize gives a {got.get('type')} of {got.get('dtype')} (ragged rank "
                       f"{got.get('ragged_rank')}, {got.get('rows')} rows) for {rows} strings; expected an int32 "
                       "RaggedTensor with one row per string", **where)
    else:
        yield passed(f"tokenize gives an int32 RaggedTensor (ragged rank {got['ragged_rank']}) with one row per "
                     f"string for all {rows} synthetic strings", **where)
