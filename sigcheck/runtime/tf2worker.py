"""The worker's side of a TF2 SavedModel plan (runtime/tf2plan.py): load once, call, observe.

``tf.saved_model.load`` rebuilds the model in the worker only (the parent
never imports TensorFlow for it, and the safety gate has already refused a
model whose restored functions do more than compute).  Each probe of the
``__call__`` group is one call of the restored object on a synthetic batch,
with the probe's ``training`` and Python arguments; the ``hub.KerasLayer``
group wraps the same object the way a consumer does, in a model of the Keras
tensorflow_hub uses (tf_keras when installed).  What is written is what the
TF1 worker writes (observations.json/npz), plus each output's dtype and,
for the Keras probes, ``details`` (weight counts).

A probe whose name has a runner in ``RUNNERS`` is run by it; every other probe
is a batch through ``__call__`` (see tf2plan's docstring for adding one).
"""

from __future__ import annotations

import time

import numpy as np

from ..probes import KERAS, KERAS_TRAINABLE, TF2_TOKENIZE
from . import batches, strings, tokens
from .paths import tensorflow_path
from .tf2plan import output_tensor
from .worker import _describe, _stop_at_bounds, emit, tag_set_entry


def observe_tf2(tf, plan, out_dir: str) -> tuple:
    """(observed, arrays) for the one meta graph of a TF2 plan, as worker.observe writes them."""
    observed, arrays = {"tag_sets": []}, {}
    for t_index, tag_plan in enumerate(plan.tag_sets):
        entry = tag_set_entry(tag_plan, plan.load, load_error=None, variables_error=None, variables=0)
        observed["tag_sets"].append(entry)
        if not plan.load:
            continue
        emit("load", tags=list(tag_plan.tags))
        model = _load(tf, tensorflow_path(plan.module_dir, out_dir), entry)
        if model is None:
            continue
        inputs = {}
        for g_index, group in enumerate(tag_plan.groups):
            records = []
            for probe in group.probes:
                size = tuple(probe.size) or (group.height, group.width)
                key = (group.input_kind,) if group.input_kind in ("text", "tokens") else size
                if key not in inputs:
                    inputs[key] = strings.make_strings() if group.input_kind == "text" else () \
                        if group.input_kind == "tokens" else batches.make_images(*size, seed=plan.seed)
                emit("probe", tags=list(tag_plan.tags), probe=probe.name, images=len(probe.images) * probe.runs)
                runner = RUNNERS.get(probe.name, _call_probe)
                records.append(runner(tf, model, group, probe, _data(group, probe, inputs[key]),
                                      f"{t_index}/{g_index}", arrays))
            entry["groups"].append({"input_tensor": group.input_tensor, "probes": records})
    return observed, arrays


def _load(tf, path: str, entry: dict):
    started = time.perf_counter()
    try:
        model = tf.saved_model.load(path)
    except Exception as exc:  # noqa: BLE001 - any failure is an observation
        _stop_at_bounds(tf, exc)
        entry["load_error"] = _describe(exc)
        return None
    entry["variables"] = len(list(getattr(model, "variables", None) or ()))
    entry["seconds"] = round(time.perf_counter() - started, 3)
    return model


def _data(group, probe, inputs):
    if group.input_kind == "text":
        return strings.batch(inputs, probe.images)
    if group.input_kind == "tokens":
        return tokens.batch(group.feed, probe.images)
    return batches.batch(inputs, probe.images, probe.scale, {"bfloat16": "float32"}.get(group.input_dtype,
                                                                                      group.input_dtype))


def _record(probe) -> dict:
    return {"name": probe.name, "images": list(probe.images), "scale": probe.scale, "runs": [], "error": None}


def _call_probe(tf, model, group, probe, data, prefix, arrays) -> dict:
    """``probe.runs`` calls of ``model(batch, training=..., **arguments)``."""
    record = _record(probe)
    positional = [v for k, v in probe.arguments if not k]
    kwargs = {k: v for k, v in probe.arguments if k}
    if probe.training is not None and positional:
        positional.insert(0, probe.training)  # the traces take training positionally before the others
    elif probe.training is not None:
        kwargs["training"] = probe.training
    for run in range(probe.runs):
        started = time.perf_counter()
        try:
            result = _forward(tf, model, data, positional, kwargs, group.fixed_batch, probe.exact)
        except Exception as exc:  # noqa: BLE001 - a failing call is an observation
            _stop_at_bounds(tf, exc)
            record["error"] = _describe(exc)
            break
        record["runs"].append({"outputs": _outputs(tf, group, probe, run, result, prefix, arrays),
                               "seconds": round(time.perf_counter() - started, 4)})
    return record


def _forward(tf, model, data, positional, kwargs, fixed_batch: int, exact: bool):
    """One call; a model traced for a fixed batch size gets the batch in chunks unless ``exact``."""
    if isinstance(data, dict):
        return model({k: tf.constant(v) for k, v in data.items()}, *positional, **kwargs)
    if exact or not fixed_batch or len(data) == fixed_batch or len(data) % fixed_batch:
        return model(tf.constant(data), *positional, **kwargs)
    parts = [model(tf.constant(data[i:i + fixed_batch]), *positional, **kwargs)
             for i in range(0, len(data), fixed_batch)]
    return tf.nest.map_structure(lambda *p: tf.concat(p, axis=0), *parts)


def _outputs(tf, group, probe, run, result, prefix, arrays) -> dict:
    """Shape, dtype and finiteness of every tensor in ``result``; a single tensor's values kept as ``default``."""
    outputs = {}
    single = tf.is_tensor(result)
    flat = {"": result} if single else dict(_flatten(tf, result))
    for path, tensor in flat.items():
        name = output_tensor(group.input_tensor) + (f"/{path}" if path else "")
        value = np.asarray(tensor.numpy()) if hasattr(tensor, "numpy") else np.asarray(tensor)
        outputs[name] = {"shape": list(value.shape), "dtype": _dtype(tensor, value),
                         "finite": bool(np.all(np.isfinite(value))) if value.dtype.kind in "fc" else True}
        if (single or probe.keep_all) and value.dtype.kind in "biufc":
            arrays[f"{prefix}/{probe.name}/{run}/{name}"] = np.asarray(value, dtype=np.float64)
    return outputs


def _flatten(tf, structure, path: str = ""):
    """(path, tensor) of every leaf, paths like ``pooled_output`` or ``0/1``."""
    if isinstance(structure, dict):
        items = sorted(structure.items(), key=lambda kv: str(kv[0]))
    elif isinstance(structure, (list, tuple)):
        items = enumerate(structure)
    else:
        if tf.is_tensor(structure) or isinstance(structure, np.ndarray):
            yield path, structure
        return
    for key, value in items:
        yield from _flatten(tf, value, f"{path}/{key}" if path else str(key))


def _dtype(tensor, value) -> str:
    dtype = getattr(tensor, "dtype", None)
    return getattr(dtype, "name", None) or str(value.dtype)


def _keras_probe(trainable: bool):
    def run(tf, model, group, probe, data, prefix, arrays) -> dict:
        """hub.KerasLayer(model) in a functional Keras model of tensorflow_hub's Keras, one batch."""
        record = _record(probe)
        record["details"] = {"input": INPUTS.get(group.input_kind, group.input_kind)}
        started = time.perf_counter()
        try:
            from tensorflow_hub import keras_layer

            keras = keras_layer.keras
            layer = keras_layer.KerasLayer(model, trainable=trainable)
            if group.input_kind == "text":
                inputs = keras.Input(shape=(), dtype=tf.string)
            elif group.input_kind == "tokens":
                inputs = {key: keras.Input(shape=(length or None,), dtype=dtype) for key, dtype, length in group.feed}
            else:
                inputs = keras.Input(shape=(group.height, group.width, 3), dtype=group.input_dtype)
            wrapped = keras.Model(inputs, layer(inputs))
            result = wrapped({k: tf.constant(v) for k, v in data.items()} if isinstance(data, dict)
                             else tf.constant(data))
        except Exception as exc:  # noqa: BLE001 - what the consumer would see
            _stop_at_bounds(tf, exc)
            record["error"] = _describe(exc)
            return record
        variables = list(getattr(model, "variables", None) or ())
        record["details"] = {
            **record["details"],
            "keras": f"{keras.__name__} {getattr(keras, '__version__', '')}".strip(),
            "weights": len(layer.weights), "trainable_weights": len(layer.trainable_weights),
            "trainable_variables": sum(1 for v in variables if v.trainable),
        }
        record["runs"].append({"outputs": _outputs(tf, group, probe, 0, result, prefix, arrays),
                               "seconds": round(time.perf_counter() - started, 4)})
        return record

    return run


def _tokenize_probe(tf, model, group, probe, data, prefix, arrays) -> dict:
    """``model.tokenize`` on the strings: what it returns (type, dtype, ragged rank, rows) in ``details``."""
    record = _record(probe)
    started = time.perf_counter()
    try:
        result = model.tokenize(tf.constant(data))
    except Exception as exc:  # noqa: BLE001 - a failing call is an observation
        _stop_at_bounds(tf, exc)
        record["error"] = _describe(exc)
        return record
    ragged = isinstance(result, tf.RaggedTensor)
    dtype = getattr(result, "dtype", None)
    record["details"] = {"type": type(result).__name__, "dtype": getattr(dtype, "name", str(dtype)),
                         "ragged_rank": int(result.ragged_rank) if ragged else 0,
                         "rows": int(result.nrows()) if ragged else int(result.shape[0] or 0)
                         if tf.is_tensor(result) and result.shape.rank else -1}
    record["runs"].append({"outputs": {}, "seconds": round(time.perf_counter() - started, 4)})
    return record


INPUTS = {"image": "images", "text": "strings", "tokens": "rows of token ids"}  # what a batch holds, for messages
# probe name -> fn(tf, model, group, probe, data, prefix, arrays) -> record; other probes call __call__.
RUNNERS = {
    TF2_TOKENIZE: _tokenize_probe,
    KERAS: _keras_probe(trainable=False),
    KERAS_TRAINABLE: _keras_probe(trainable=True),
}
