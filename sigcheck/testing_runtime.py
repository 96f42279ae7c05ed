"""Observation builders: what the runtime worker would have seen, made in-process.

Runtime checks read ``runtime.observations.Observations`` -- plain frozen
objects -- so a runtime rule's logic can be tested in milliseconds without
TensorFlow.  ``observe(facts, model)`` plans exactly as the real runtime does
(``runtime.plan.make_plan``: the same groups, probes, image indices and
refusals) and fills every probe's runs with the ``default`` output a *model*
gives for the batch.  A model is any ``fn(batch: Batch) -> array [B, N]``;
the ones below describe one behaviour each (conformant, NaN for an image,
batch statistics, randomness, constant, softmax, [0, 255] input, output
dropout), so a test states the defect it is about::

    from sigcheck.testing import assert_results, module
    from sigcheck.testing_runtime import observe, random_each_run

    def test_run504_fails_when_runs_differ():
        facts = module()
        assert_results("RUN504", facts, observations=observe(facts), passes=True)
        assert_results("RUN504", facts, observations=observe(facts, random_each_run), fail="randomness")

Other outputs than ``default`` get their declared shape with the batch filled
in (override with ``shapes``); load, restore and probe failures are given by
tag set or probe name.  Real modules built by ``fixtures/`` stay the ground
truth; these builders are the fast layer beside them.

A TF1 text module's facts get the text probes (``runtime.textplan``): the same
models then see indices into ``runtime.strings.NAMES`` and ``Batch.labels``
name the strings ("empty", "long", ...).  Another input kind (TF2 ``__call__``)
can reuse ``observations_of(plan, ...)`` as long as its plan has groups of
probes with input indices.

A TF2 text preprocessor's or encoder's ``__call__`` returns a dict: each key
then gets its traced dtype and shape (batch filled in, an unknown length 4;
``shapes`` overrides by key) and the values a model returns for it when the
model returns a dict (zeros otherwise); the ``tf2-tokenize`` probe reports one
int32 ragged row per string unless ``details`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

import numpy as np

from .facts.objects import StructDict, TensorSpec
from .facts.tf2 import TF2_SAVED_MODEL, call_traces, module_format, object_graph, tf2_kind
from .probes import CATALOGUE, KERAS, KERAS_TRAINABLE, TF2_CALL, TF2_KERAS_LAYER, TF2_TOKENIZE, TF2_TRAINING
from .runtime import batches, strings
from .runtime.observations import Observations, ProbeResult, Run, TagSetRun
from .runtime.plan import make_plan
from .runtime.tf2plan import output_tensor

__all__ = [
    "Batch", "batch_dependent", "constant", "expects_0_255", "features", "nan_for", "observe", "observations_of",
    "output_dropout", "random_each_run", "size_dependent", "softmax", "training_dropout", "width",
]

FEATURES = 16  # the width of the default output when the signature does not declare one


@dataclass(frozen=True)
class Batch:
    """One forward pass as a model sees it."""

    tags: tuple
    probe: str  # its name in the observations: "size-2", "all", "repeat", "range255", "dropout"
    run: int  # 0 for the first run of the probe
    images: tuple  # indices into runtime.batches.NAMES
    scale: float  # 1.0 for [0, 1] images, 255.0 for the range probe
    width: int  # N of the declared default output [?, N]
    labels: tuple = ()  # what each row was ("black", "empty", ...): batches.NAMES or strings.NAMES
    size: tuple = ()  # (height, width) of the images fed
    training: Optional[bool] = None  # a TF2 model's training argument in this call (None: not passed)


Model = Callable[[Batch], np.ndarray]


def features(batch: Batch) -> np.ndarray:
    """A conformant feature vector: a fixed, distinct, nonzero row per image, whatever the
    batch, the run and the scale (the module normalises its input)."""
    index = np.asarray(batch.images, np.float64)[:, None] + 1.0
    k = np.arange(batch.width, dtype=np.float64)[None, :] + 1.0
    return 1.5 + np.cos(0.7 * index * k)  # in [0.5, 2.5]: never 0, not probabilities


def nan_for(label: str, model: Model = features) -> Model:
    """``model`` with NaN rows for the input named ``label`` ("black", or for text "empty", ...)."""

    def run(batch: Batch) -> np.ndarray:
        values = model(batch).copy()
        names = batch.labels or tuple(batches.NAMES[i] for i in batch.images)
        for row, name in enumerate(names):
            if name == label:
                values[row] = np.nan
        return values

    return run


def batch_dependent(batch: Batch) -> np.ndarray:
    """Batch statistics: each row minus the batch mean (batch norm in training mode)."""
    values = features(batch)
    return values - values.mean(axis=0, keepdims=True) + 1.0


def random_each_run(batch: Batch) -> np.ndarray:
    """Randomness active in inference: every run of the same batch differs densely."""
    noise = np.random.default_rng(1000 + batch.run).normal(0.0, 0.1, (len(batch.images), batch.width))
    return features(batch) + noise


def constant(batch: Batch) -> np.ndarray:
    """An output that ignores its input."""
    return np.full((len(batch.images), batch.width), 0.25)


def softmax(batch: Batch) -> np.ndarray:
    """Probabilities instead of logits: rows in [0, 1] summing to 1."""
    exp = np.exp(features(batch))
    return exp / exp.sum(axis=1, keepdims=True)


def expects_0_255(batch: Batch) -> np.ndarray:
    """A module that wants raw pixel values: [0, 1] images barely move its output."""
    return 10.0 + features(batch) * (batch.scale / 255.0)


def output_dropout(tags=("train",), keep: float = 0.5) -> Model:
    """Inverted dropout on the output in the tag sets ``tags``: each element is 0 or x / keep."""
    wanted = tuple(sorted(tags))

    def run(batch: Batch) -> np.ndarray:
        values = features(batch)
        if batch.tags != wanted:
            return values
        mask = np.random.default_rng(2000 + batch.run).random(values.shape) < keep
        return np.where(mask, values / keep, 0.0)

    return run


def width(n: int, model: Model = features) -> Model:
    """``model`` giving ``n`` features whatever the signature declares (a shape mismatch)."""
    from .record import replace

    return lambda batch: model(replace(batch, width=n))


def size_dependent(batch: Batch) -> np.ndarray:
    """A TF2 image model whose N follows the image size: the features plus one column per 32 pixels of height."""
    from .record import replace

    return features(replace(batch, width=batch.width + (batch.size[0] // 32 if batch.size else 0)))


def training_dropout(keep: float = 0.5) -> Model:
    """A TF2 model applying inverted dropout to its output when called with training=True."""

    def run(batch: Batch) -> np.ndarray:
        values = features(batch)
        if not batch.training:
            return values
        mask = np.random.default_rng(3000 + batch.run).random(values.shape) < keep
        return np.where(mask, values / keep, 0.0)

    return run


def observe(facts, model: Model = features, *, needs=tuple(CATALOGUE), batch_sizes=(1, 2, 5),
            dropout_runs: int = 4, max_batch_bytes: int = 2 << 30, **failures) -> Observations:
    """What the runtime would observe running the probes ``needs`` on ``facts`` (a ModuleFacts)
    whose ``default`` outputs follow ``model``; see ``observations_of`` for ``failures``.
    The defaults are those of rules/*.toml and the config (batch sizes 1, 2, 5; 4 dropout runs)."""
    plan = make_plan(facts, facts.path, batch_sizes=batch_sizes, dropout_runs=dropout_runs,
                     max_batch_bytes=max_batch_bytes, needs=needs)
    declared = _declared_outputs(facts)
    failures.setdefault("details", _keras_details(facts))
    observations = observations_of(plan, model, declared, **failures)
    structure = _call_dict(facts)
    if structure is None:
        return observations
    return _with_dict_outputs(observations, structure, model, dict(failures.get("shapes") or {}))


def observations_of(plan, model: Model, declared: Mapping, *, load_errors: Optional[Mapping] = None,
                    variables_errors: Optional[Mapping] = None, variables: int = 1,
                    probe_errors: Optional[Mapping] = None, shapes: Optional[Mapping] = None,
                    unregistered_ops: Optional[Mapping] = None, details: Optional[Mapping] = None) -> Observations:
    """Observations of ``plan``: ``load_errors`` / ``variables_errors`` map tag sets to the
    message of a graph that does not load / a checkpoint that does not restore (that tag set
    then runs no probe, as in the worker); ``probe_errors`` maps probe names ("size-2") to a
    failed forward pass; ``shapes`` maps output keys to fn(batch size) -> the shape observed;
    ``unregistered_ops`` maps tag sets to the op types the registry lacks (none by default),
    answered for the tag sets whose op types the plan asks about (the ``registry`` probe).
    ``details`` maps probe names to what else the probe saw (the Keras probes' weight counts).
    ``declared``: tensor name -> declared shape, from the facts."""
    load_errors, variables_errors = dict(load_errors or {}), dict(variables_errors or {})
    probe_errors, shapes = dict(probe_errors or {}), dict(shapes or {})
    unregistered = {tuple(t): tuple(ops) for t, ops in (unregistered_ops or {}).items()}
    tag_sets = []
    for tag_plan in plan.tag_sets:
        tags = tag_plan.tags
        load_error, variables_error = load_errors.get(tags), variables_errors.get(tags)
        probes = {}
        if not (load_error or variables_error):
            for group in tag_plan.groups:
                probes[group.input_tensor] = {
                    p.name: _probe(tags, group, p, model, declared, probe_errors.get(p.name), shapes,
                                   dict((details or {}).get(p.name, {})))
                    for p in group.probes}
        asked = unregistered.get(tags, ()) if tag_plan.op_types else None
        tag_sets.append(TagSetRun(tags, load_error=load_error, variables_error=variables_error,
                                  variables=variables, probes=probes, unregistered_ops=asked))
    return Observations(plan, tuple(tag_sets))


def _probe(tags, group, probe, model, declared, error, shapes, details) -> ProbeResult:
    names = strings.NAMES if group.input_kind in ("text", "tokens") else batches.NAMES
    labels = tuple(names[i] for i in probe.images)
    if error:
        return ProbeResult(probe.name, probe.images, probe.scale, (), error, labels=labels,
                           details={k: v for k, v in details.items() if k == "input"})
    defaults = {t for _, k, t in group.outputs if k == "default"}
    keys = {t: k for _, k, t in group.outputs}
    count = len(probe.images)
    runs = []
    for index in range(probe.runs):
        n = _width(declared.get(next(iter(defaults), None)))
        batch = Batch(tags, probe.name, index, probe.images, probe.scale, n, labels,
                      tuple(probe.size) or (group.height, group.width), probe.training)
        made = model(batch)  # a dict for a TF2 model returning one: _with_dict_outputs reads it
        values = np.asarray(np.zeros((count, n)) if isinstance(made, dict) else made, np.float64)
        run_shapes, finite, kept = {}, {}, {}
        for tensor, key in keys.items():
            if tensor in defaults:
                kept[tensor] = values
                shape = tuple(values.shape)
                finite[tensor] = bool(np.isfinite(values).all())
            else:
                shape = tuple(count if i == 0 and d is None else (d or 1) for i, d in enumerate(declared[tensor] or ()))
                finite[tensor] = True
            run_shapes[tensor] = tuple(shapes[key](count)) if key in shapes else shape
        runs.append(Run(run_shapes, finite, kept, {t: "float32" for t in kept}))
    return ProbeResult(probe.name, probe.images, probe.scale, tuple(runs), labels=labels, details=details)


def _declared_outputs(facts) -> dict:
    declared = {t.name: t.shape for m in facts.meta_graphs for s in m.signatures for t in s.outputs if t.name}
    traces = call_traces(facts) if module_format(facts) == TF2_SAVED_MODEL else None
    output = next((t.outputs for t in traces or () if isinstance(t.outputs, TensorSpec)), None)
    if output is not None:  # a TF2 model: what __call__ returns, directly and through hub.KerasLayer
        declared.update({output_tensor(TF2_CALL): output.shape, output_tensor(TF2_KERAS_LAYER): output.shape})
    return declared


def _keras_details(facts) -> dict:
    """What the Keras probes of a conformant TF2 model report: every listed trainable variable is a
    trainable weight of hub.KerasLayer(trainable=True), none of the frozen layer's."""
    graph = object_graph(facts) if module_format(facts) == TF2_SAVED_MODEL else None
    if graph is None:
        return {}
    variables = [n for n in graph.elements(graph.child(graph.root, "variables")) if n.variable is not None]
    trainable = sum(1 for n in variables if n.variable.trainable)
    common = {"keras": "tf_keras", "weights": len(variables), "trainable_variables": trainable,
              "input": "images" if tf2_kind(facts) == "image" else "strings"}
    return {KERAS: {**common, "trainable_weights": 0}, KERAS_TRAINABLE: {**common, "trainable_weights": trainable}}


def _width(shape) -> int:
    return shape[1] if shape and len(shape) == 2 and shape[1] else FEATURES



def _call_dict(facts):
    """The dict a TF2 text model's ``__call__`` returns (its first trace's), or None."""
    if module_format(facts) != TF2_SAVED_MODEL:
        return None
    output = next((t.outputs for t in call_traces(facts) or ()), None)
    return output if isinstance(output, StructDict) else None


def _with_dict_outputs(observations: Observations, structure: StructDict, model: Model, shapes: dict):
    """``observations`` whose __call__ runs return ``structure``'s keys (see the module docstring)."""
    from .record import replace

    tag_sets = []
    for run in observations.tag_sets:
        probes = dict(run.probes)
        group = probes.get(TF2_CALL)
        if group is not None:
            probes[TF2_CALL] = {name: _dict_probe(p, structure, model, shapes, run.tags) for name, p in group.items()}
        tag_sets.append(replace(run, probes=probes))
    return replace(observations, tag_sets=tuple(tag_sets))


def _dict_probe(probe: ProbeResult, structure: StructDict, model: Model, shapes: dict, tags) -> ProbeResult:
    from .record import replace

    count = len(probe.images)
    if probe.name == TF2_TOKENIZE and not probe.error:
        found = {"type": "RaggedTensor", "dtype": "int32", "ragged_rank": 1, "rows": count, **probe.details}
        return replace(probe, details=found)
    tensor = output_tensor(TF2_CALL)
    runs = []
    for index, run in enumerate(probe.runs):
        batch = Batch(tags, probe.name, index, probe.images, probe.scale, 0, probe.labels,
                      training=probe.name == TF2_TRAINING)
        made = model(batch)
        given = made if isinstance(made, dict) else {}
        run_shapes, values, dtypes, finite = {}, {}, {}, {}
        for key, spec in structure.items:
            if not isinstance(spec, TensorSpec):
                continue
            shape = tuple(shapes[key](count)) if key in shapes else tuple(
                count if i == 0 else (d or 4) for i, d in enumerate(spec.shape or ()))
            name = f"{tensor}/{key}"
            values[name] = np.asarray(given.get(key, np.zeros(shape)), np.float64)
            run_shapes[name], dtypes[name], finite[name] = shape, spec.dtype, True
        runs.append(Run(run_shapes, finite, values, dtypes))
    return replace(probe, runs=tuple(runs))
