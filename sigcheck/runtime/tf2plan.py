"""The runtime plan of a TF2 SavedModel: which batches its ``__call__`` and ``hub.KerasLayer`` get.

A TF2 model has one meta graph and no signatures to feed: the worker loads it
with ``tf.saved_model.load`` (runtime/tf2worker.py) and calls the restored
object.  The plan keeps the shapes the TF1 runtime uses, so observations and
checks read both alike: one ``TagSetPlan`` (the meta graph's tags) whose
*groups* are called like signatures --

- ``__call__`` (``CALL``): the model's own API probes, output kept under the
  key ``default`` (image models: the image probes of ``plan.IMAGE_PROBES``'s
  catalogue names, each with ``training=False`` but ``DROPOUT``, run with
  ``training=True``; ``RESIZED`` at a second size when H and W are unknown);
- ``hub.KerasLayer`` (``KERAS_LAYER``): the consumer's view (``KERAS``,
  ``KERAS_TRAINABLE``), for every kind the worker can feed.

Adding a TF2 probe (a local change):

1. its constant and ``ProbeKind`` in ``sigcheck.probes`` (or reuse a name there);
2. a builder in ``TF2_PROBES[input kind]`` below, ``fn(settings) -> [Probe]``
   (``Probe.images`` index ``runtime.batches.NAMES`` for ``image`` groups and
   ``runtime.strings.NAMES`` for ``text`` and ``tokens`` groups -- a tokens group
   feeds ``runtime.tokens.batch`` of the group's ``feed``; set ``training`` when the
   model takes it, ``settings.training`` says whether it does);
3. for a new *kind of call* (not a batch through ``__call__``), a runner in
   ``tf2worker.RUNNERS`` keyed by the probe name;
4. a check that declares it: ``@check("CODE", needs=(NAME,))``.

Nothing else names it: the plan holds the probes the selected rules need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..facts.objects import StructDict, TensorSpec, describe
from ..facts.tf2 import call_traces, object_graph, single_input, tf2_kind
from ..probes import (ALL, DROPOUT, KERAS, KERAS_TRAINABLE, RANGE255, REFUSED, REPEAT, RESIZED, SIZES, TEXT_ALL,
                      TEXT_REPEAT, TEXT_SIZES, TF2_CALL, TF2_IDS, TF2_KERAS_LAYER, TF2_TOKENIZE, TF2_TRAINING, ordered,
                      size_probe)
from . import batches, strings
from .plan import RANGE_IMAGES, REPEAT_IMAGES, Group, Plan, Probe, TagSetPlan

CALL = TF2_CALL
KERAS_LAYER = TF2_KERAS_LAYER
DEFAULT = "default"  # the key a single output is kept under, as TF1 modules' `default`
# Image sizes fed when the model leaves height and width unknown: the common default, and a second one
# (both multiples of 32, so that strided networks take them) to show N does not follow the size.
DEFAULT_SIZE = (224, 224)
SECOND_SIZE = (160, 160)
KERAS_IMAGES = (3, 2)  # smooth noise, uniform noise
KERAS_STRINGS = strings.DISTINCT
PYTHON_VALUES = (bool, int, float, str, type(None))


@dataclass(frozen=True)
class TF2Settings:
    """What a probe builder may use."""

    batch_sizes: tuple
    dropout_runs: int
    training: Optional[bool]  # False when a trace takes `training` (pass it), None when none does
    arguments: tuple  # other Python arguments of the traces: (("", positional value), (keyword, value), ...)
    resizable: bool  # the model takes images of any height and width
    tokenize: bool = False  # the root has a tokenize sub-callable (a preprocessor)


def _call(name, images, settings, *, training=None, **kw) -> Probe:
    chosen = settings.training if training is None or settings.training is None else training
    return Probe(name, tuple(images), training=chosen, arguments=settings.arguments, **kw)


def _image_sizes(s):
    count = len(batches.NAMES)
    return [_call(size_probe(b), (i % count for i in range(b)), s, exact=True) for b in s.batch_sizes]


# input kind -> probe name -> fn(TF2Settings) -> [Probe]; the probes a group of that kind can run.
TF2_PROBES = {
    "image": {
        SIZES: _image_sizes,
        ALL: lambda s: [_call(ALL, reversed(range(len(batches.NAMES))), s)],
        REPEAT: lambda s: [_call(REPEAT, REPEAT_IMAGES, s, runs=2)],
        RANGE255: lambda s: [_call(RANGE255, RANGE_IMAGES, s, scale=255.0)],
        DROPOUT: lambda s: [_call(DROPOUT, REPEAT_IMAGES, s, training=True, runs=s.dropout_runs)]
        if s.training is not None else [],
        RESIZED: lambda s: [_call(RESIZED, REPEAT_IMAGES, s, size=SECOND_SIZE)] if s.resizable else [],
    },
    # a text embedding's or preprocessor's strings (Probe.images index strings.NAMES), every output kept
    "text": {
        TEXT_SIZES: lambda s: [_call(size_probe(b, TEXT_SIZES), (i % len(strings.NAMES) for i in range(b)), s,
                                     exact=True, keep_all=True) for b in s.batch_sizes],
        TEXT_ALL: lambda s: [_call(TEXT_ALL, reversed(range(len(strings.NAMES))), s, keep_all=True)],
        TEXT_REPEAT: lambda s: [_call(TEXT_REPEAT, strings.DISTINCT, s, runs=2, keep_all=True)],
        TF2_TRAINING: lambda s: [_call(TF2_TRAINING, strings.DISTINCT, s, training=True, keep_all=True)]
        if s.training is not None else [],
        TF2_TOKENIZE: lambda s: [_call(TF2_TOKENIZE, range(len(strings.NAMES)), s)] if s.tokenize else [],
    },
    # an encoder's synthetic token ids (runtime/tokens.py; Probe.images index the rows, strings.NAMES)
    "tokens": {
        TF2_IDS: lambda s: [_call(size_probe(b, TF2_IDS), range(b), s, exact=True, keep_all=True)
                            for b in s.batch_sizes],
    },
}
KERAS_PROBES = {
    KERAS: lambda images: [Probe(KERAS, images)],
    KERAS_TRAINABLE: lambda images: [Probe(KERAS_TRAINABLE, images)],
}


def tf2_plan(facts, directory: str, *, needs, batch_sizes, dropout_runs: int, max_batch_bytes: int) -> Plan:
    meta = next(m for m in facts.meta_graphs if m.object_graph is not None)
    traces = call_traces(facts) or ()
    reference = _reference_trace(traces)
    spec = single_input(reference) if reference is not None else None
    kind = tf2_kind(facts)
    input_kind = _input_kind(kind, spec)
    graph = object_graph(facts)
    settings = TF2Settings(tuple(batch_sizes), dropout_runs,
                           False if any(t.training is not None for t in traces) else None,
                           _arguments(reference), resizable=kind == "image" and _resizable(spec),
                           tokenize=graph is not None and graph.child(graph.root, "tokenize") is not None)
    keras_inputs = KERAS_STRINGS if input_kind in ("text", "tokens") else KERAS_IMAGES
    wanted = {CALL: _planned(TF2_PROBES.get(input_kind, {}), needs, settings),
              KERAS_LAYER: _planned(KERAS_PROBES, needs, keras_inputs)}
    groups, unrunnable = [], []
    for name, probes in wanted.items():
        reason = _why_not_run(name, reference, input_kind, probes, _size(spec), max_batch_bytes) if probes else None
        if reason:
            unrunnable.append((name, reason))
        elif probes:
            groups.append(_group(name, spec, input_kind, probes))
    return Plan(directory, (TagSetPlan(meta.tags, tuple(groups), tuple(unrunnable)),), loader="tf2")


def _planned(table, needs, argument) -> tuple:
    """The probes of ``table`` the selected rules need, in catalogue order."""
    return tuple(p for name in ordered(needs) if name in table for p in table[name](argument))


def _why_not_run(name, reference, input_kind, probes, size, max_batch_bytes):
    return (_why_not_callable(reference, input_kind)
            or (_output_problem(reference) if name == CALL and input_kind == "image" else None)
            or _too_big(probes, input_kind, *size, max_batch_bytes))


def _group(name, spec, input_kind, probes) -> Group:
    height, width = _size(spec)
    return Group(name, spec.dtype if isinstance(spec, TensorSpec) else "string", height, width, _fixed_batch(spec),
                 (name,), ((name, DEFAULT, output_tensor(name)),), probes, input_kind=input_kind,
                 feed=_token_feed(spec) if input_kind == "tokens" else ())


def output_tensor(group: str) -> str:
    """The name a group's single output is observed under (``__call__/output``)."""
    return f"{group}/output"


def _reference_trace(traces):
    """The trace the probes call: one with training=False, else one without training, else the first."""
    for wanted in (False, None):
        found = next((t for t in traces if t.training is wanted and t.readable), None)
        if found is not None:
            return found
    return traces[0] if traces else None


def _arguments(trace) -> tuple:
    """The Python values of ``trace`` besides ``training`` (what a caller must pass to match it):
    ``("", value)`` for a positional one after the input (and training), ``(name, value)`` for a keyword."""
    if trace is None:
        return ()
    rest = trace.args[2:] if trace.training is not None and len(trace.args) >= 2 and \
        isinstance(trace.args[1], bool) else trace.args[1:]
    positional = tuple(("", v) for v in rest if _python_value(v))
    keywords = tuple((k, v) for k, v in trace.kwargs.items if k != "training" and _python_value(v))
    return positional + keywords


def _python_value(value) -> bool:
    return isinstance(value, PYTHON_VALUES) and not isinstance(value, tuple)


def _size(spec) -> tuple:
    if not isinstance(spec, TensorSpec) or spec.shape is None or len(spec.shape) != 4:
        return 0, 0
    height, width = spec.shape[1], spec.shape[2]
    return height or DEFAULT_SIZE[0], width or DEFAULT_SIZE[1]


def _resizable(spec) -> bool:
    return isinstance(spec, TensorSpec) and spec.shape is not None and len(spec.shape) == 4 \
        and spec.shape[1] is None and spec.shape[2] is None


def _input_kind(kind: str, spec):
    """What the worker feeds: ``image``, ``text`` (strings), ``tokens`` (a dict of token ids) or None."""
    if kind == "image":
        return "image"
    if kind == "text" and _is_string_vector(spec):
        return "text"
    if kind == "text" and isinstance(spec, StructDict) and all(
            isinstance(v, TensorSpec) and v.shape is not None and len(v.shape) == 2 for _, v in spec.items):
        return "tokens"
    return None


def _token_feed(spec) -> tuple:
    return tuple((key, value.dtype, value.shape[1] or 0) for key, value in spec.items)


def _is_string_vector(spec) -> bool:
    return isinstance(spec, TensorSpec) and spec.dtype == "string" and spec.shape is not None and len(spec.shape) == 1


def _fixed_batch(spec) -> int:
    return (spec.shape[0] or 0) if isinstance(spec, TensorSpec) and spec.shape else 0


def _why_not_callable(reference, input_kind) -> Optional[str]:
    if reference is None:
        return "the root has no traced __call__ to run"
    if input_kind is None:
        inputs = describe(reference.inputs) if reference.inputs else "no tensor"
        return f"__call__ takes {inputs}: sigcheck has no synthetic input for it"
    return None


def _output_problem(reference) -> Optional[str]:
    if reference is not None and not isinstance(reference.outputs, TensorSpec):
        return f"__call__ returns {describe(reference.outputs)}, not a single tensor"
    return None


def _too_big(probes, input_kind, height, width, max_batch_bytes) -> Optional[str]:
    if input_kind != "image":
        return None
    largest = max(len(p.images) for p in probes)
    needed = batches.batch_bytes(largest, height, width)
    if needed > max_batch_bytes:
        return (f"{REFUSED}a batch of {largest} images at {height}x{width} needs {needed / 2**30:.1f} GiB, "
                f"above the limit of {max_batch_bytes / 2**30:.1f} GiB")
    return None
