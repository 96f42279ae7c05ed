"""The child process that runs modules: ``python -m sigcheck.runtime.worker``.

It reads requests from stdin, one JSON line each (``{"plan": PATH, "out": DIR}``),
and serves them one after another, so that TensorFlow is imported once per
worker however many modules it runs.  For each plan it loads every tag set once
with TensorFlow's own tf.compat.v1 SavedModel loader (a fresh graph and session
per tag set), checks the checkpoint against the graph's variables, restores
it, runs every probe and writes what it saw: ``observations.json`` (shapes,
finiteness, errors) and ``observations.npz`` (the ``default`` outputs).
Progress and completion go to stdout as JSON lines.  Judging is left to the
parent: this process only observes.  A TF2 SavedModel's plan (``Plan.loader``
"tf2") is served by ``tf2worker`` instead: ``tf.saved_model.load`` and calls of
the restored object.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from . import batches, sandbox, strings
from .paths import tensorflow_path
from .plan import Plan
from .variables import describe_outside, outside_global_variables, variable_ops


class StoppedBySandbox(Exception):
    """The module hit a bound of the sandbox (a denied access, the memory limit):
    the run ends with that as its error, whatever step it happened in."""


def _stop_at_bounds(tf, exc: BaseException) -> None:
    """Re-raise a denied access or a failed allocation inside the sandbox as StoppedBySandbox."""
    text = getattr(exc, "message", None) or str(exc)
    if sandbox.ACTIVE and isinstance(exc, (tf.errors.PermissionDeniedError, PermissionError)):
        lines = [line.strip() for line in text.splitlines() if "denied" in line.lower()] or [_describe(exc)]
        raise StoppedBySandbox(f"stopped by the sandbox ({sandbox.ACTIVE}): {lines[-1][:300]}") from exc
    if sandbox.MEMORY_LIMIT and isinstance(exc, (tf.errors.ResourceExhaustedError, MemoryError)):
        lines = [line.strip() for line in text.splitlines() if "OOM" in line or "alloc" in line] or [_describe(exc)]
        raise StoppedBySandbox(f"exceeded the memory limit of {sandbox.MEMORY_LIMIT / 2**30:.1f} GiB "
                               f"(--max-memory): {lines[0][:300]}") from exc


def emit(event: str, **data) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def serve(stdin=sys.stdin) -> int:
    """Import TensorFlow at once (while the parent still reads the module), then
    run plans until stdin closes."""
    _exit_with_parent()
    emit("import")
    from .tfimport import import_tensorflow

    tf = import_tensorflow()
    sandbox.end_on_network()  # after the import: its gRPC probes IPv6 with a socket and must only be told no
    for line in stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            observe(tf, request["plan"], request["out"])
        except StoppedBySandbox as exc:
            emit("failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - report and stay alive for the next module
            emit("failed", error=_describe(exc))
        else:
            emit("done")
    return 0


def _exit_with_parent() -> None:
    """Leave when the parent is gone.  The child runs in a session of its own so
    that a timeout can kill its whole group; a parent killed outright (a lost
    Dask worker, SIGKILL) then cannot take it along, and a child stuck in a
    hanging module would never read the end of stdin."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="sigcheck-parent-watch", daemon=True).start()


def observe(tf, plan_path: str, out_dir: str) -> None:
    with open(plan_path, encoding="utf-8") as f:
        plan = Plan.from_json(f.read())
    if plan.loader == "tf2":
        from .tf2worker import observe_tf2

        _write(out_dir, *observe_tf2(tf, plan, out_dir))
        return
    from tensorflow.python.saved_model import loader_impl

    loader = loader_impl.SavedModelLoader(tensorflow_path(plan.module_dir, out_dir))
    observed = {"tag_sets": []}
    arrays = {}
    images = {}
    for t_index, tag_plan in enumerate(plan.tag_sets):
        entry = tag_set_entry(tag_plan, plan.load)
        observed["tag_sets"].append(entry)
        if not plan.load:
            continue
        if entry.get("unregistered_ops"):
            entry["load_error"] = (f"TensorFlow does not register the op type(s) {', '.join(entry['unregistered_ops'])}"
                                   " the graph uses, so it cannot import the graph")
            continue
        emit("load", tags=list(tag_plan.tags))
        graph = tf.Graph()
        with tf.compat.v1.Session(graph=graph, config=_session_config(tf)) as session:
            entry.update(_load(tf, loader, session, tag_plan.tags))
            if entry["load_error"] or entry["variables_error"]:
                continue
            for g_index, group in enumerate(tag_plan.groups):
                size = ("text",) if group.input_kind == "text" else (group.height, group.width)
                if size not in images:
                    images[size] = strings.make_strings() if group.input_kind == "text" else \
                        batches.make_images(*size, seed=plan.seed)
                prefix = f"{t_index}/{g_index}"
                entry["groups"].append(_run_group(tf, session, group, images[size], prefix, arrays, tag_plan.tags))
    _write(out_dir, observed, arrays)


def _write(out_dir: str, observed: dict, arrays: dict) -> None:
    np.savez(os.path.join(out_dir, "observations.npz"), **arrays)
    with open(os.path.join(out_dir, "observations.json"), "w", encoding="utf-8") as f:
        json.dump(observed, f)


def tag_set_entry(tag_plan, load: bool, **fields) -> dict:
    """A tag set's observation record (both loaders): its tags, the op types TensorFlow does not register, and
    why it was not loaded when only the op registry was asked."""
    entry = {"tags": list(tag_plan.tags), "groups": [], **fields}
    if tag_plan.op_types:
        entry["unregistered_ops"] = _unregistered(tag_plan.op_types)
    if not load:
        entry["load_error"] = "not loaded: only the op registry was asked"
    return entry


def _unregistered(op_types) -> list:
    """The op types the installed TensorFlow (with the op libraries it has loaded) does not register."""
    from tensorflow.python.framework import op_def_registry

    return [op for op in op_types if op_def_registry.get(op) is None]


def _session_config(tf):
    """Sessions without grappler's graph rewriting.

    The rewrites cost ~0.3 s per graph on a MobileNet-sized module before the
    first batch runs, more than they save on the few small batches sigcheck
    runs, and the graph as written is what the checks are about."""
    config = tf.compat.v1.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def _load(tf, loader, session, tags) -> dict:
    """Import the graph, restore the checkpoint, run init ops; say what failed."""
    started = time.perf_counter()
    result = {"load_error": None, "variables_error": None, "variables": 0}
    try:
        saver, _ = loader.load_graph(session.graph, list(tags))
    except Exception as exc:  # noqa: BLE001 - any failure is an observation
        _stop_at_bounds(tf, exc)
        result["load_error"] = _describe(exc)
        return result
    with session.graph.as_default():
        result["variables"] = len(variable_ops(session.graph))
        outside = outside_global_variables(tf, session.graph)
        if outside:
            result["variables_error"] = describe_outside(outside, result["variables"])
            return result
        try:
            mismatch = _checkpoint_mismatch(tf, loader.variables_path) if result["variables"] else None
            if mismatch:
                result["variables_error"] = mismatch
                return result
            if result["variables"] and saver is None:
                saver = tf.compat.v1.train.Saver()
            loader.restore_variables(session, saver)
        except Exception as exc:  # noqa: BLE001
            _stop_at_bounds(tf, exc)
            result["variables_error"] = _describe(exc)
            return result
        try:
            loader.run_init_ops(session, list(tags))
            if tf.compat.v1.get_collection("table_initializer"):
                # fed like the loader feeds its init ops: each declared asset tensor gets assets/<file>
                session.run(tf.compat.v1.tables_initializer(), feed_dict=_asset_feeds(loader, tags))
        except Exception as exc:  # noqa: BLE001
            _stop_at_bounds(tf, exc)
            result["load_error"] = "init ops failed: " + _describe(exc)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _asset_feeds(loader, tags) -> dict:
    """{asset tensor name: path in the module's assets/} for the meta graph of ``tags``."""
    from tensorflow.python.saved_model import loader_impl

    meta_graph = loader.get_meta_graph_def_from_tags(list(tags))
    return dict(loader_impl.get_asset_tensors(loader._export_dir, meta_graph))


def _checkpoint_mismatch(tf, variables_path: str):
    """Why the checkpoint does not fit the graph's variables, or None.

    Restoring into resource variables does not check shapes, so a checkpoint
    of another architecture would load and run on wrongly shaped weights."""
    try:
        stored = tf.train.load_checkpoint(variables_path).get_variable_to_shape_map()
    except Exception as exc:  # noqa: BLE001 - missing or unreadable checkpoint
        return _describe(exc)
    for variable in tf.compat.v1.global_variables():
        name = variable.op.name
        declared = variable.shape
        if name in stored and declared.rank is not None and not declared.is_compatible_with(stored[name]):
            return f"{name} is {declared.as_list()} in the graph but {stored[name]} in the checkpoint"
    return None


def _run_group(tf, session, group, images, prefix, arrays, tags) -> dict:
    tensors = sorted({t for _, _, t in group.outputs})
    keep = {t for _, k, t in group.outputs if k == "default"}
    fetches = {t: session.graph.get_tensor_by_name(t) for t in tensors}
    feed_tensor = session.graph.get_tensor_by_name(group.input_tensor)
    probes = []
    for probe in group.probes:
        emit("probe", tags=list(tags), probe=probe.name, images=len(probe.images) * probe.runs)
        record = {"name": probe.name, "images": list(probe.images), "scale": probe.scale, "runs": [],
                  "error": None}
        if group.input_kind == "text":
            data = strings.batch(images, probe.images)
        else:
            data = batches.batch(images, probe.images, probe.scale, _numpy_dtype(group.input_dtype))
        for run in range(probe.runs):
            started = time.perf_counter()
            try:
                values = _forward(session, fetches, feed_tensor, data, group.fixed_batch, probe.exact)
            except Exception as exc:  # noqa: BLE001 - a failing forward pass is an observation
                _stop_at_bounds(tf, exc)
                record["error"] = _describe(exc)
                break
            outputs = {}
            for tensor, value in values.items():
                outputs[tensor] = {"shape": list(value.shape), "finite": bool(np.all(np.isfinite(value)))
                                   if value.dtype.kind in "fc" else True}
                if probe.keep_all and value.dtype.kind in "biufc":
                    arrays[f"{prefix}/{probe.name}/{run}/{tensor}"] = np.asarray(value)
                elif tensor in keep:
                    arrays[f"{prefix}/{probe.name}/{run}/{tensor}"] = np.asarray(value, dtype=np.float64)
            record["runs"].append({"outputs": outputs, "seconds": round(time.perf_counter() - started, 4)})
        probes.append(record)
    return {"input_tensor": group.input_tensor, "probes": probes}


def _forward(session, fetches, feed_tensor, data, fixed_batch: int, exact: bool) -> dict:
    """One forward pass; a fixed-batch input gets the batch in chunks unless ``exact``."""
    if exact or not fixed_batch or len(data) == fixed_batch or len(data) % fixed_batch:
        return session.run(fetches, {feed_tensor: data})
    parts = [session.run(fetches, {feed_tensor: data[i:i + fixed_batch]}) for i in range(0, len(data), fixed_batch)]
    return {t: np.concatenate([p[t] for p in parts]) for t in fetches}


def _numpy_dtype(dtype: str) -> str:
    return {"bfloat16": "float32"}.get(dtype, dtype)


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    first = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return f"{type(exc).__name__}: {first}"[:500]


if __name__ == "__main__":
    sys.exit(serve())
