"""Load and run a module with plain TensorFlow, as sigcheck's worker and a TF1
consumer do: ``python tf_execute.py MODULE_DIR [TAGS]`` (TAGS comma-separated,
default: every meta graph's tags in turn), or several modules in one interpreter
(TensorFlow is imported once): ``python tf_execute.py --each MODULE_DIR TAGS ...``
with TAGS ``-`` for every meta graph.

Tests use it to show that a hostile fixture is real: what it hides does run
when TensorFlow loads the module, restores its variables, runs its init ops
and computes its signature outputs.  Failures are printed, never raised, so
that everything that can run does."""

from __future__ import annotations

import sys


def run(module_dir: str, tags: list) -> None:
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.saved_model import loader_impl

    tf1 = tf.compat.v1
    loader = loader_impl.SavedModelLoader(module_dir)
    graph = tf.Graph()
    with tf1.Session(graph=graph) as session, graph.as_default():
        saver, _ = loader.load_graph(graph, tags)
        if saver is None and tf1.global_variables():
            saver = tf1.train.Saver()
        _try("restore", loader.restore_variables, session, saver)
        _try("init ops", loader.run_init_ops, session, tags)
        meta_graph = loader.get_meta_graph_def_from_tags(tags)
        for name, signature in meta_graph.signature_def.items():
            feed = {}
            for info in signature.inputs.values():
                shape = [1 if d.size < 0 else d.size for d in info.tensor_shape.dim]
                feed[info.name] = np.zeros(shape, tf.as_dtype(info.dtype).as_numpy_dtype)
            fetches = [info.name for info in signature.outputs.values() if info.name]
            _try(f"signature {name}", session.run, fetches, feed)


def _try(what, fn, *args):
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - report and go on
        print(f"{what} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def main(argv) -> int:
    if argv[:1] == ["--each"]:
        pairs = argv[1:]
        for module_dir, tags in zip(pairs[::2], pairs[1::2]):
            print(f"== {module_dir}", flush=True)
            execute(module_dir, [] if tags == "-" else [tags])
        return 0
    return execute(argv[0], argv[1:])


def execute(module_dir: str, argv: list) -> int:
    if argv:
        tag_lists = [[t for t in argv[0].split(",") if t]]
    else:
        from tensorflow.python.saved_model import loader_impl

        saved_model = loader_impl.parse_saved_model(module_dir)
        tag_lists = [list(m.meta_info_def.tags) for m in saved_model.meta_graphs]
    for tags in tag_lists:
        try:
            run(module_dir, tags)
        except Exception as exc:  # noqa: BLE001
            print(f"loading {tags} failed: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
