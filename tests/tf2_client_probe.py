"""Run by tests/test_tf2_client.py in a child process: what the genuine TF2 consumer stack
(tensorflow_hub's hub.load and hub.KerasLayer in a tf_keras model) does with each module.

argv[1]: a JSON object {name: [path, kind, input dtype]}; prints one JSON object {name: observations}.
Each observation is a plain fact about the client's behaviour, named by the rule whose
violation it shows (True = the client shows the problem).
"""

import json
import sys

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

RESERVED = {"__call__", "variables", "trainable_variables", "regularization_losses", "signatures", "keras_api",
            "_default_save_signature", "call_and_return_all_conditional_losses"}


TEXT_KEYS = ("input_word_ids", "input_mask", "input_type_ids")


def batch(kind: str, size: int, dtype: str = "float32"):
    if dtype == "dict":  # an encoder: the preprocessor's int32 [batch, 4] tensors
        return {key: tf.ones((size, 4), tf.int32) for key in TEXT_KEYS}
    if kind == "text":
        return tf.constant(["A long sentence.", "single-word", "http://example-url.com"][:size])
    images = np.random.default_rng(0).uniform(0, 1, (size, 32, 32, 3))
    return tf.constant((images * 255).astype(dtype) if dtype == "uint8" else images.astype(dtype))


def call_variants(obj) -> list:
    """(args, kwargs) after the input a hub.load user tries: none, training=False/True, and the Python
    values a trace was made with (positional after the input, as TensorFlow records them)."""
    variants = [((), {}), ((), {"training": False}), ((), {"training": True})]
    for function in getattr(getattr(obj, "__call__", None), "concrete_functions", ()):
        args, kwargs = function.structured_input_signature
        extra = tuple(args[1:])
        if extra and all(isinstance(a, (bool, int, float, str)) for a in extra):
            variants.append((extra, dict(kwargs)))
    return variants


def fails(fn) -> bool:
    try:
        fn()
        return False
    except Exception:  # the client's refusal, whatever its type
        return True


def keras_model(path: str, kind: str, trainable: bool, dtype: str = "float32"):
    layer = hub.KerasLayer(path, trainable=trainable)
    if dtype == "dict":
        inputs = {key: tf_keras.Input(shape=(4,), dtype=tf.int32) for key in TEXT_KEYS}
        return tf_keras.Model(inputs, layer(inputs)), layer
    dtype = tf.string if kind == "text" else getattr(tf, dtype)
    shape = () if kind == "text" else (32, 32, 3)
    inputs = tf_keras.Input(shape=shape, dtype=dtype)
    return tf_keras.Model(inputs, layer(inputs)), layer


def observe(path: str, kind: str, dtype: str) -> dict:
    obj = hub.load(path)
    if kind != "text":
        kind = "image"  # a model of another kind is fed images: what matters is whether it can be called

    def feed(size):
        return batch(kind, size, dtype)

    uses_variables = bool(getattr(obj, "variables", None)) or bool(obj.__dict__.get("captured"))
    by_size = {size: all(fails(lambda a=a, kw=kw: obj(feed(size), *a, **kw)) for a, kw in call_variants(obj))
               for size in (1, 2, 3)}
    seen = {
        "RSM801": all(by_size.values()),  # cannot be called at all
        "RSM802": fails(lambda: obj(feed(3), training=False)) != fails(lambda: obj(feed(3), training=True)),
        "RSM807": len(set(by_size.values())) > 1,  # some batch sizes work, others do not
    }
    if not seen["RSM801"] and not seen["RSM802"]:  # hub.KerasLayer calls with training=False and True
        # a Keras model of hub.KerasLayer(path) runs a batch of two (what sigcheck's worker does with the object)
        seen["RSM811"] = fails(lambda: keras_model(path, kind, False, dtype)[0](feed(2)))
        if not seen["RSM811"]:
            model, layer = keras_model(path, kind, True, dtype)
            if kind == "image":
                seen.update(image_api(obj, model, dtype))
            trainable = layer.trainable_weights
            seen["RSM803"] = uses_variables and not layer.weights
            seen["RSM804"] = any(not v.trainable for v in trainable)
            seen["RSM805"] = fails(lambda: [float(loss) for loss in layer.losses])
            seen["RSM812"] = any(v.trainable for v in getattr(obj, "variables", ())) and not trainable
    if kind == "image" and not seen["RSM801"]:
        seen.update(image_runtime(obj, dtype))
    # a named sub-callable (a restored tf.function other than the API's own) that cannot be called
    callables = {name: getattr(obj, name) for name in dir(obj) if name not in RESERVED and not name.startswith("_")}
    seen["RSM806"] = any(fails(lambda name=name, fn=fn: call_sub_callable(obj, name, fn))
                         for name, fn in callables.items() if callable(fn) and hasattr(fn, "concrete_functions"))
    if "bert_pack_inputs" in callables and "tokenize" in callables:
        seen["TXT755"] = packs_badly(obj)
    return seen


def call_sub_callable(obj, name: str, fn):
    """A sub-callable called as its API says: bert_pack_inputs packs tokenize's results, others take strings."""
    texts = batch("text", 3, "string")
    if name == "bert_pack_inputs" and hasattr(obj, "tokenize"):
        return fn([ragged_tokens(obj, texts)])
    return fn(texts)


def ragged_tokens(obj, texts):
    """Token ids as bert_pack_inputs takes them: an int32 RaggedTensor with one row per string, like a
    conformant tokenize's (made here, so that a broken tokenize stays TXT754's and TXT758's problem)."""
    return tf.ragged.constant([[1 + (i + j) % 5 for j in range(1 + i)] for i in range(len(texts))], dtype=tf.int32)


def packs_badly(obj) -> bool:
    """bert_pack_inputs, as a tf.data pipeline calls it (one and two segments, with and without
    seq_length), does not give a dict of int32 [batch, seq_length] tensors, or holds variables."""
    tokens = ragged_tokens(obj, batch("text", 3, "string"))
    for segments in ([tokens], [tokens, tokens]):
        for kw, length in (({}, None), ({"seq_length": 8}, 8)):
            try:
                packed = obj.bert_pack_inputs(segments, **kw)
            except Exception:  # the client's refusal, whatever its type
                return True
            if not isinstance(packed, dict) or any(
                    t.dtype != tf.int32 or t.shape.rank != 2 or t.shape[0] != 3 or length and t.shape[1] != length
                    for t in packed.values()):
                return True
    return any(f.variables for f in obj.bert_pack_inputs.concrete_functions)


def inference(obj, images):
    """obj(images) in inference mode, as a user calls it (training=False when the model takes it), or None."""
    for kwargs in ({"training": False}, {}):
        try:
            return obj(images, **kwargs).numpy()
        except Exception:
            continue
    return None


def image_runtime(obj, dtype: str) -> dict:
    """What calling the model shows: the same batch twice differs (RUN504), N follows the size (OUT412)."""
    images = batch("image", 2, dtype)
    first, second = inference(obj, images), inference(obj, images)
    sized = [inference(obj, tf.image.resize(images, (size, size))) for size in (224, 160)]
    return {
        "RUN504": first is not None and second is not None and not np.allclose(first, second),
        "OUT412": all(s is not None and s.ndim == 2 for s in sized) and sized[0].shape[1] != sized[1].shape[1],
    }


def image_api(obj, model, dtype: str) -> dict:
    """What a consumer of a TF2 image model sees of the image API (IMG302, OUT402-OUT404, OUT411)."""
    out = model.output
    single = not isinstance(out, (dict, list, tuple))
    # what the restored __call__ promises for any input (the Keras model fixes the image size)
    shapes = [tuple(f.structured_outputs.shape) for f in obj.__call__.concrete_functions
              if isinstance(f.structured_outputs, (tf.Tensor, tf.TensorSpec))]
    return {
        "IMG302": dtype != "float32" and fails(lambda: obj(tf.zeros((1, 32, 32, 3), tf.float32))),
        "OUT402": single and out.dtype != tf.float32,
        "OUT403": single and any(len(s) != 2 or s[0] is not None for s in shapes),
        "OUT404": single and any(len(s) == 2 and s[1] is None for s in shapes),
        "OUT411": not single,
    }


if __name__ == "__main__":
    wanted = json.loads(sys.argv[1])
    print(json.dumps({name: observe(*where) for name, where in wanted.items()}))
