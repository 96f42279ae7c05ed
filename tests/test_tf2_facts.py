"""The TF-free reading of TF2 SavedModels: object graph, traces, variables, fingerprint, format and kind.

Real exports (fixtures/tf2.py, written by tf.saved_model.save) are read by
sigcheck's reader and compared with what the export code put in; kinds are
also decided on built facts, in-process.
"""

from __future__ import annotations

import pytest

from sigcheck.api import check
from sigcheck.facts.objects import StructDict, TensorSpec
from sigcheck.facts.reader import read_module
from sigcheck.facts.tf2 import call_traces, module_format, object_graph, sub_callables, tf2_kind
from sigcheck.testing import module, tensor_spec, tf2_module, trace



def test_a_reusable_export_reads_as_written(modules):
    facts = read_module(modules.build("tf2-fv-conformant"))
    assert module_format(facts) == "tf2-saved-model"
    assert tf2_kind(facts) == "image"
    graph = object_graph(facts)
    children = dict(graph.root.children)
    assert {"__call__", "variables", "trainable_variables", "regularization_losses"} <= set(children)
    traces = call_traces(facts)
    assert sorted(t.training for t in traces) == [False, True]
    for t in traces:
        assert t.inputs == (TensorSpec("images", "float32", (None, None, None, 3)),)
        assert t.outputs.dtype == "float32" and t.outputs.shape == (None, 8)
    variables = {v.variable.name: v.variable for v in graph.elements(graph.child(graph.root, "variables"))}
    assert variables["weights"].trainable and variables["weights"].shape == (3, 8)
    assert not variables["moving_mean"].trainable
    assert facts.fingerprint.present and facts.fingerprint.problem is None
    assert facts.fingerprint.saved_model_checksum != 0


def test_keras_traces_take_training_positionally(modules):
    facts = read_module(modules.build("tf2-classifier-conformant"))
    assert tf2_kind(facts) == "image"
    traces = call_traces(facts)
    assert sorted(t.training for t in traces) == [False, True]
    assert all(t.outputs.shape == (None, 10) for t in traces)
    assert "call_and_return_all_conditional_losses" in dict(sub_callables(object_graph(facts)))


def test_a_text_embedding_takes_strings(modules):
    facts = read_module(modules.build("tf2-text-embedding"))
    assert tf2_kind(facts) == "text"
    assert call_traces(facts)[0].inputs == (TensorSpec("texts", "string", (None,)),)


def test_tf1_modules_keep_their_formats(modules):
    assert module_format(read_module(modules.build("fv-conformant"))) == "tf1-hub"
    assert module_format(read_module(modules.build("hub101-missing-module-def"))) == "tf1-saved-model"


def test_the_genuine_tf_hub_test_model_reads_without_tensorflow(shared_data):
    facts = read_module(str(shared_data / "realworld" / "tensorflow_hub__saved_model_v2_mini"))
    assert module_format(facts) == "tf2-saved-model"
    assert call_traces(facts), "its __call__ has traces"
    assert facts.fingerprint.present is False


@pytest.mark.parametrize("inputs, kind", [
    ((tensor_spec(),), "image"),
    ((tensor_spec(dtype="uint8"),), "image"),  # a wrong dtype is an image model breaking the input rule
    ((tensor_spec(shape=(None, 224, 224, 1)),), "other"),
    ((tensor_spec("texts", "string", (None,)),), "text"),
    ((StructDict((("input_mask", tensor_spec("m", "int32", (None, 128))),
                  ("input_word_ids", tensor_spec("w", "int32", (None, 128))))),), "text"),
    ((tensor_spec("x", "float32", (None, 5)),), "other"),
    ((tensor_spec(), tensor_spec("y", "float32", (None,))), "other"),
])
def test_kinds_follow_the_inputs_of_call(inputs, kind):
    assert tf2_kind(tf2_module(call_traces=(trace("c", *inputs),))) == kind


def test_a_model_without_call_is_other_and_tf1_is_not_tf2():
    assert tf2_kind(tf2_module(call=False)) == "other"
    assert module_format(module()) == "tf1-hub"


def test_sec601_follows_what_call_runs_not_only_the_signatures(modules):
    """The file write sits in __call__'s trace only: the serving signature never reaches it."""
    import glob

    from sigcheck.fixtures import marker_path

    path = modules.build("sec601-tf2-call-writes")
    report = check(path, static=True)
    failed = [r for r in report.results if r.rule == "SEC601" and r.status == "fail"]
    assert failed and "WriteFile" in failed[0].message and "restored function __call__" in failed[0].message
    assert not glob.glob(glob.escape(marker_path(path)) + "*")


def test_a_passing_tf2_model_is_said_to_follow_the_tf2_apis_in_the_terminal(modules):
    from sigcheck.render.terminal import render

    image = check(modules.build("tf2-fv-conformant"), static=True)
    text = check(modules.build("tf2-text-hashed-embedding"), static=True)
    assert (image.verdict, text.verdict) == ("pass", "pass")
    assert "follows the Reusable SavedModel API and the Common SavedModel APIs for Image Tasks" in render(
        [image], width=200)
    assert "follows the Reusable SavedModel API and the Common SavedModel APIs for Text" in render(
        [text], width=200)
    assert "Common Signatures for Images" not in render([image], width=200)
