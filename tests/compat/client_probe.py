"""Ask the genuine TF1 Hub client what it makes of modules, and export some.

Runs ONLY inside the old-client environment (tensorflow-hub 0.15.0 on
tensorflow-cpu 2.15.1, see env.py), started by driver.py; it is never imported
by sigcheck or by the tests' own interpreter.

    python client_probe.py [--batch N] [--run-timeout S] [--produce OUT_DIR] [MODULE_DIR ...]

``--produce`` first exports the modules of produced.py with the genuine
producer (``hub.create_module_spec`` + ``hub.Module(spec).export``) and probes
them too.  For every module it records what the client did:
``hub.load_module_spec``, tag sets, signature names and tensor infos per tag
set, ``get_expected_image_size`` and ``get_num_image_channels`` per signature,
``hub.Module(spec)`` as a consumer writes it, and ``hub.Module(spec, tags)``
applied to every signature in a ``tf.compat.v1`` graph and session to what
the documented consumer call feeds: images float32 [batch, height, width, 3]
in [0, 1] at the expected image size (other inputs as declared).  Every call that raises is recorded
as ``{"error": {"type", "message"}}``; a signature's outcome also says at
which ``stage`` it ended: ``call`` (``module(inputs, signature=...)`` in the
graph) or ``run`` (``session.run``).  Inputs the probe does not feed are
``{"skipped": reason}``.

Output: one JSON event per line on stdout (everything else goes to stderr), so
that driver.py knows which signature was running if a module kills or hangs
the process (an Abort op, an endless loop): client, produced, begin, static,
running, outcome, end, done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

_EVENTS = os.fdopen(os.dup(1), "w")  # the JSON events go here; any other output to stderr
os.dup2(2, 1)
sys.stdout = sys.stderr

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import numpy as np
    import tensorflow as tf
    import tensorflow_hub as hub

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from produced import FEATURES, MODULES, SCOPE, SIZE  # noqa: E402  (plain data, shared with the tests)

tf.get_logger().setLevel("ERROR")
tf1 = tf.compat.v1
SEED = 20240
MAX_FED_VALUES = 1 << 24  # larger batches are not fed (an ImageModuleInfo may claim 60000x60000)


def emit(event: str, **fields) -> None:
    _EVENTS.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
    _EVENTS.flush()


def error(exc: BaseException) -> dict:
    """type, message, and ``where``: the innermost tensorflow_hub function the exception passed."""
    message = " ".join(str(exc).split())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f"{os.sep}tensorflow_hub{os.sep}" in f.filename]
    where = f"{os.path.basename(frames[-1].filename)[:-3]}.{frames[-1].name}" if frames else None
    found = {"type": type(exc).__name__, "message": message[:600], "where": where}
    if "uninitiali" in message.lower():  # said deep in a long graph-execution message
        found["uninitialised"] = True
    return {"error": found}


def attempt(fn, *args, **kwargs) -> dict:
    try:
        return {"value": fn(*args, **kwargs)}
    except Exception as exc:  # the client's own verdict, whatever it is
        return error(exc)


class NotFed(Exception):
    """The probe chose not to feed this signature (no size, too large)."""


# --- probing ---------------------------------------------------------------

def tensor_info(info) -> dict:
    shape = info.get_shape()
    return {
        "dtype": info.dtype.name,
        "shape": None if shape.rank is None else shape.as_list(),
        "is_sparse": bool(info.is_sparse),
    }


def signature_infos(spec, name, tags) -> dict:
    return {
        "inputs": {k: tensor_info(v) for k, v in spec.get_input_info_dict(name, tags).items()},
        "outputs": {k: tensor_info(v) for k, v in spec.get_output_info_dict(name, tags).items()},
    }


def probe(path: str, batch: int, run_timeout: float) -> None:
    emit("begin", path=path)
    try:
        spec = hub.load_module_spec(path)
    except Exception as exc:
        emit("static", path=path, record={"load": error(exc)})
        emit("end", path=path)
        return
    record = {"load": {"value": True}, "tag_sets": [sorted(t) for t in spec.get_tags()], "graphs": []}
    for tags in spec.get_tags():
        names = attempt(lambda: sorted(spec.get_signature_names(tags=tags)))
        record["graphs"].append({
            "tags": sorted(tags),
            "signature_names": names,
            "signatures": {n: attempt(signature_infos, spec, n, tags) for n in names.get("value", [])},
        })
    # What a consumer calls without naming tags: the {} graph.
    record["default_tags"] = {"signature_names": attempt(lambda: sorted(spec.get_signature_names()))}
    names = record["default_tags"]["signature_names"].get("value", [])
    record["expected_image_size"] = {n: attempt(lambda n=n: list(hub.get_expected_image_size(spec, n)))
                                     for n in names}
    record["num_image_channels"] = {n: attempt(lambda n=n: int(hub.get_num_image_channels(spec, n)))
                                    for n in names}
    record["module_default"] = attempt(construct_default, spec)
    record["embedding_columns"] = {"text": attempt(use_text_column, spec), "image": attempt(use_image_column, spec)}
    emit("static", path=path, record=record)
    timed_out = []  # once one run of a module hits the timeout, its other runs would too
    for tags in spec.get_tags():
        apply_graph(path, spec, sorted(tags), record, batch, run_timeout, timed_out)
    emit("end", path=path)


def construct_default(spec) -> bool:
    """hub.Module(spec) as a consumer writes it: no tags, the inference graph."""
    with tf.Graph().as_default():
        hub.Module(spec)
    return True


def use_text_column(spec) -> bool:
    """hub.text_embedding_column accepts the module, and a feature layer of sentences builds on it
    (the graph is built, not run: a table initialiser that reads a file never runs here)."""
    with tf.Graph().as_default():
        column = hub.text_embedding_column("sentences", spec)
        tf1.feature_column.input_layer({"sentences": tf.constant(["A long sentence.", "single-word"])}, [column])
    return True


def use_image_column(spec) -> bool:
    """hub.image_embedding_column accepts the module, and a feature layer of images at its size builds."""
    with tf.Graph().as_default():
        column = hub.image_embedding_column("images", spec)
        height, width = hub.get_expected_image_size(spec)
        tf1.feature_column.input_layer({"images": tf.zeros([2, height, width, 3])}, [column])
    return True


def apply_graph(path, spec, tags, record, batch, run_timeout, timed_out) -> None:
    """hub.Module(spec, tags=tags) applied to every signature of that graph."""

    def outcome(signature, result):
        emit("outcome", path=path, tags=tags, signature=signature, outcome=result)

    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(SEED)
        emit("running", path=path, tags=tags, signature=None)
        try:
            module = hub.Module(spec, tags=set(tags))
        except Exception as exc:
            return outcome(None, error(exc))
        built = {}
        for name in sorted(spec.get_signature_names(tags=tags)):
            # What a consumer of this tag set resizes to: the attachments of the graph it loaded.
            expected = attempt(lambda n=name: list(hub.get_expected_image_size(module, n)))
            seen = {"expected_image_size": expected}
            try:
                feeds = make_inputs(spec, name, tags, expected, batch)
                built[name] = (feeds, module(feeds["tensors"], signature=name, as_dict=True))
            except NotFed as exc:
                outcome(name, {"skipped": str(exc), **seen})
            except Exception as exc:  # hub.Module refused the inputs or the signature
                outcome(name, {"stage": "call", **error(exc), **seen})
        options = tf1.RunOptions(timeout_in_ms=int(run_timeout * 1000))
        with tf1.Session(graph=graph) as session:
            try:
                session.run([tf1.global_variables_initializer(), tf1.tables_initializer()], options=options)
            except Exception as exc:
                return outcome(None, error(exc))
            for name, (feeds, outputs) in built.items():
                seen = {"expected_image_size": feeds["expected_image_size"]}
                if timed_out:
                    outcome(name, {"skipped": f"not run: {timed_out[0]} timed out before", **seen})
                    continue
                emit("running", path=path, tags=tags, signature=name)
                try:
                    values = session.run(outputs, options=options)
                except Exception as exc:
                    if isinstance(exc, tf.errors.DeadlineExceededError):
                        timed_out.append(f"{name} in {{{', '.join(tags)}}}")
                    outcome(name, {"stage": "run", "fed": feeds["shapes"], **error(exc), **seen})
                    continue
                outcome(name, {"stage": "run", "fed": feeds["shapes"], **seen,
                               "outputs": {k: describe_value(v, outputs[k]) for k, v in values.items()}})


def make_inputs(spec, name, tags, expected, batch) -> dict:
    """What the documented consumer call feeds: images float32 [batch, height, width, 3]
    with values in [0, 1] at ``hub.get_expected_image_size`` of the loaded tag set;
    other inputs (and every input of a signature that is not an image signature) as declared."""
    rng = np.random.RandomState(SEED)
    infos = spec.get_input_info_dict(name, tags)
    image_key = "images" if "images" in infos else (
        next(iter(infos)) if len(infos) == 1 and "value" in expected else None)
    tensors, shapes = {}, {}
    for key, info in sorted(infos.items()):
        declared = info.get_shape()
        if key == image_key:
            if "error" in expected:
                raise NotFed(f"no image size: get_expected_image_size raised {expected['error']['type']}")
            dims, dtype = [batch, *expected["value"], 3], tf.float32
        elif info.is_sparse:  # an empty sparse batch: [batch, 1, ...]
            dims = [batch] + [d or 1 for d in declared.as_list()[1:]]
            tensors[key] = tf.SparseTensor(tf.zeros([0, len(dims)], tf.int64), tf.zeros([0], info.dtype), dims)
            shapes[key] = dims
            continue
        elif isinstance(getattr(info, "type_spec", None), tf.RaggedTensorSpec):  # rows of 2, 0, 1, ... values
            lengths = [(2, 0, 1)[i % 3] for i in range(batch)]
            values = tf.constant(random_array(rng, info.dtype, [sum(lengths)]), dtype=info.dtype)
            tensors[key] = tf.RaggedTensor.from_row_lengths(values, tf.constant(lengths, tf.int64))
            shapes[key] = [batch, None]
            continue
        else:
            dims, dtype = ([None] * 4 if declared.rank is None else declared.as_list()), info.dtype
            dims = [batch if i == 0 and d is None else d for i, d in enumerate(dims)]
            if any(d is None for d in dims):
                raise NotFed(f"no shape to feed input {key!r} declared {declared}")
        if int(np.prod(dims)) > MAX_FED_VALUES:
            raise NotFed(f"input {key!r} would be {dims}: too large to feed in a probe")
        tensors[key] = tf.constant(random_array(rng, dtype, dims), dtype=dtype)
        shapes[key] = dims
    return {"tensors": tensors, "shapes": shapes, "expected_image_size": expected}


def random_array(rng, dtype, dims):
    if dtype.is_floating:
        return rng.uniform(0.0, 1.0, dims).astype(dtype.as_numpy_dtype)
    if dtype.is_integer:
        return rng.randint(0, 256 if dtype == tf.uint8 else 10, dims).astype(dtype.as_numpy_dtype)
    if dtype.is_bool:
        return np.zeros(dims, dtype=bool)
    return np.full(dims, b"", dtype=object)


def describe_value(value, tensor) -> dict:
    static = tensor.shape
    if hasattr(value, "flat_values"):  # a RaggedTensorValue: rows, then ragged dimensions
        flat = np.asarray(value.flat_values)
        rank = value.ragged_rank
        return {"shape": [len(value.row_splits) - 1] + [None] * rank + list(flat.shape[1:]),
                "dtype": flat.dtype.name, "static_shape": None if static.rank is None else static.as_list(),
                "finite": bool(np.all(np.isfinite(flat))) if flat.dtype.kind == "f" else None}
    value = np.asarray(value)
    return {
        "shape": list(value.shape),
        "dtype": value.dtype.name,
        "static_shape": None if static.rank is None else static.as_list(),
        "finite": bool(np.all(np.isfinite(value))) if value.dtype.kind == "f" else None,
    }


# --- producing -------------------------------------------------------------

def feature_vector_fn(is_training=False, input_dtype="float32", batch=None, default_key="default",
                      output_dropout=False, image_info=True, asset=None, sparse_input=None):
    """A small CNN feature vector, written the way hub.create_module_spec users did."""
    images = tf1.placeholder(tf.as_dtype(input_dtype), [batch, SIZE, SIZE, 3], name="images")
    inputs = {"images": images}
    if sparse_input:
        inputs[sparse_input] = tf1.sparse_placeholder(tf.float32, [None, None], name=sparse_input)
    if asset:  # the documented way to ship a file with a module
        tf1.add_to_collection(tf1.GraphKeys.ASSET_FILEPATHS, tf.constant(asset, name="asset_path"))
    x = tf.cast(images, tf.float32) / 255.0 if input_dtype == "uint8" else images
    with tf1.variable_scope(SCOPE):
        conv1 = _conv(x, 6, "conv1")
        hidden = tf.nn.dropout(conv1, rate=0.2, seed=SEED) if is_training else conv1
        conv2 = _conv(hidden, FEATURES, "conv2")
        features = tf.reduce_mean(conv2, axis=[1, 2], name="pool")
        if sparse_input:  # weigh the features by a sparse per-image input
            weights = tf.reduce_sum(tf.sparse.to_dense(inputs[sparse_input]), axis=1, keepdims=True)
            features = features * (1.0 + 0.0 * weights)
        if is_training and output_dropout:
            features = tf.nn.dropout(features, rate=0.5, seed=SEED)
    outputs = {default_key: features, f"{SCOPE}/conv1": conv1}
    for name in ("default", "image_feature_vector"):
        hub.add_signature(name=name, inputs=inputs, outputs=outputs)
    if image_info:
        info = hub.ImageModuleInfo()
        info.default_image_size.height = SIZE
        info.default_image_size.width = SIZE
        hub.attach_image_module_info(info)


def _conv(x, filters, name):
    with tf1.variable_scope(name):
        weights = tf1.get_variable("weights", [3, 3, int(x.shape[-1]), filters],
                                   initializer=tf1.glorot_uniform_initializer(seed=SEED))
        biases = tf1.get_variable("biases", [filters], initializer=tf1.constant_initializer(0.1))
        return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, weights, [1, 2, 2, 1], "SAME"), biases))


def multi_signature_module():
    """tensorflow_hub 0.15's native_module_test.multi_signature_module: no `default`."""
    x = tf1.placeholder(tf.float32, shape=[None])
    hub.add_signature("double", {"x": x}, {"y": 2 * x})
    z = tf1.placeholder(tf.float32, shape=[None])
    hub.add_signature("square", {"z": z}, {"z_out": z * z})


def ragged_module():
    """A ragged int64 batch of rows squared, as tensorflow_hub's ragged-tensor test module."""
    x = tf1.ragged.placeholder(tf.int64, ragged_rank=1, value_shape=[])
    hub.add_signature(inputs=x, outputs=x * x)


MODULE_FNS = {"feature_vector": feature_vector_fn, "multi_signature": multi_signature_module,
              "ragged": ragged_module}


def produce(out_dir: str) -> list:
    """Export every produced.MODULES entry; return the paths exported."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for module in MODULES:
        path = os.path.join(out_dir, module.name)
        try:
            export(path, module.args, module.fn)
        except Exception as exc:
            emit("produced", name=module.name, entry={"path": path, **error(exc)})
            continue
        emit("produced", name=module.name, entry={"path": path})
        paths.append(path)
    return paths


def export(path: str, kwargs: dict, fn: str = "feature_vector") -> None:
    if kwargs.get("asset"):  # the file to ship, written beside the modules
        source = os.path.join(os.path.dirname(path), ".sources", os.path.basename(path), kwargs["asset"])
        os.makedirs(os.path.dirname(source), exist_ok=True)
        with open(source, "w") as f:
            f.write("\n".join(f"feature_{i}" for i in range(FEATURES)) + "\n")
        kwargs = dict(kwargs, asset=source)
    if fn == "feature_vector":
        spec = hub.create_module_spec(
            feature_vector_fn,
            tags_and_args=[(set(), dict(kwargs, is_training=False)), ({"train"}, dict(kwargs, is_training=True))],
        )
    else:
        spec = hub.create_module_spec(MODULE_FNS[fn], **kwargs)
    with tf.Graph().as_default():
        module = hub.Module(spec)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            module.export(path, session)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module directories to probe")
    parser.add_argument("--produce", metavar="OUT_DIR", help="export produced.MODULES into OUT_DIR first")
    parser.add_argument("--batch", type=int, default=2, help="batch size where the batch dimension is free")
    parser.add_argument("--run-timeout", type=float, default=10.0, help="seconds per session.run")
    args = parser.parse_args(argv)
    emit("client", versions={"tensorflow": tf.__version__, "tensorflow_hub": hub.__version__,
                             "python": "%d.%d.%d" % sys.version_info[:3]})
    paths = list(args.modules)
    if args.produce:
        paths += produce(args.produce)
    for path in paths:
        probe(path, args.batch, args.run_timeout)
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
