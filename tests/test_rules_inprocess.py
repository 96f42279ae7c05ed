"""Every static rule, passing and failing, on facts built in-process (no TensorFlow, no files).

The fast layer beside the real-module matrix (tests/test_static_rules.py):
each case states only how it differs from the conformant module of
``sigcheck.testing``, and runs the rule through the engine with its real
severity and options.  A static rule (or the static half of a rule that also
judges runtime observations) without a passing and a failing case here makes
``test_every_static_rule_has_passing_and_failing_cases`` fail.
"""

from __future__ import annotations

import pytest

from sigcheck.rules import load_rules
from sigcheck.testing import (assert_passes, assert_results, attachment, checkpoint_entry, collection,
                              default_output, function, graph, image_module_info, image_signatures, images, meta_graph,
                              module, module_def, node, signature, tensor, tinynet_nodes, variable,
                              with_meta_graph)
from sigcheck.testing import tensor_spec, tf2_module, trace
from sigcheck.facts.objects import SavedObject, StructDict, TypeSpec

RULES = load_rules()
STATIC = [r for r in RULES if r.stage == "static"]

CASES: list = []  # (code, id, facts, expected statuses and texts, evaluate keywords)


def case(code: str, id: str, facts, *, options=None, severity=None, **expected):
    CASES.append(pytest.param(code, facts, expected, {"options": options, "severity": severity},
                              id=f"{code}-{id}"))


def _train_differs(**changes):
    return with_meta_graph(module(), 1, **changes)


def _nodes_with(*extra, replace=None):
    """TinyNet's nodes, with nodes named like one of ``replace`` swapped, plus ``extra``."""
    swapped = {n.name: n for n in (replace or ())}
    return graph(tuple(swapped.get(n.name, n) for n in tinynet_nodes()) + tuple(extra))


# --- HUB1xx -----------------------------------------------------------------
case("HUB101", "format-v3", module(), passes="FORMAT_V3")
case("HUB101", "missing", module(module_def=module_def(present=False)), fail="plain SavedModel")
case("HUB101", "garbage", module(module_def=module_def(problem="Error parsing message")), fail="does not parse")
case("HUB101", "unspecified", module(module_def=module_def(0)), fail="FORMAT_UNSPECIFIED")
case("HUB101", "required-feature", module(module_def=module_def(required_features=("future",))),
     fail="unknown features ['future']")
case("HUB102", "tag-sets", module(), passes="{}, {train}")
case("HUB102", "no-meta-graph", module(()), fail="no meta graph")
case("HUB102", "no-empty-tags", module(tag_sets=(("serve",), ("train",))), fail="empty tag set")
case("HUB102", "repeated-tag-set", module(tag_sets=((), ())), fail="appears more than once")
case("HUB102", "repeated-tag", _train_differs(tags_as_written=("train", "train")),
     fail="lists tag(s) train more than once")
case("HUB103", "same", module(), passes="same 2 signature(s)")
case("HUB103", "one-tag-set", module(tag_sets=((),)), passes="only one tag set")
case("HUB103", "train-input-differs",
     _train_differs(signatures=image_signatures(inputs=(images(shape=(None, None, None, 3)),))),
     fail="input images is float32 [?, ?, ?, 3], expected float32 [?, 32, 32, 3]")
case("HUB103", "train-signature-missing", _train_differs(signatures=image_signatures(("default",))),
     fail="image_feature_vector missing")
case("HUB103", "train-attachment-differs", _train_differs(attachments=(image_module_info(64, 64),)),
     fail="image_module_info 64x64")
case("HUB104", "allowed", module(), passes="hub_module_attachments")
case("HUB104", "global-step", module(collections=(collection("global_step", "node_list", ("global_step",)),)),
     fail="global_step")
case("HUB104", "option-allows-it", module(collections=(collection("global_step", "node_list", ("global_step",)),)),
     options={"allowed": ["global_step"]}, passes=True)
case("HUB104", "attachments-not-bytes", module(collections=(collection("hub_module_attachments", "node_list"),)),
     fail="expects a bytes_list")
case("HUB104", "attachment-unreadable",
     module(attachments=(image_module_info(), attachment("extra", problem="truncated message"))),
     fail="(extra) is unreadable: truncated message")
case("HUB105", "matches", module(), passes="match variables/variables.index")
case("HUB105", "no-variables", module(variables=(), checkpoint=(), has_variables=False),
     passes="has no variables")
case("HUB105", "not-global", module(variables=(variable(in_collection=False),)),
     fail="not in the GLOBAL_VARIABLES collection")
case("HUB105", "no-index", module(has_variables=False, checkpoint=()), fail="variables.index is missing")
case("HUB105", "unreadable-index", module(checkpoint_problem="no table magic number", checkpoint=()),
     fail="cannot be read: no table magic number")
case("HUB105", "not-in-checkpoint", module(checkpoint=(checkpoint_entry("other"),)),
     fail="TinyNet/conv1/weights is not in the checkpoint")
case("HUB105", "shape-differs", module(checkpoint=(checkpoint_entry(shape=(3, 3, 3, 8)),)),
     fail="[3, 3, 3, 16] in the graph but [3, 3, 3, 8] in the checkpoint")
case("HUB105", "dtype-differs", module(checkpoint=(checkpoint_entry(dtype="float64"),)),
     fail="float32 in the graph but float64")
_MISSING_OUTPUT = image_signatures(outputs=(default_output(name="TinyNet/missing:0"),))
case("HUB106", "all-present", module(), passes="all 4 signature tensor(s)")
case("HUB106", "missing", module(signatures=_MISSING_OUTPUT), fail="in no graph of the module")
case("HUB106", "only-in-train",
     with_meta_graph(_train_differs(graph=graph(extra=(node("TinyNet/missing", "Identity", "TinyNet/pool"),))),
                     0, signatures=_MISSING_OUTPUT),
     fail="only in the graph of {train}", passes="{train}: all 4")
case("HUB107", "well-formed", module(), passes="every Const value")
case("HUB107", "bad-const", module(graph=graph(extra=(node("c", "Const", problem="shape [2] holds 3 values"),))),
     fail="c (Const): shape [2] holds 3 values")
# --- SIG2xx -----------------------------------------------------------------
case("SIG201", "present", module(), passes="'default' exists")
case("SIG201", "missing", module(signatures=image_signatures(("image_feature_vector",))),
     fail="no signature named 'default'")
case("SIG202", "named", module(), passes="image_feature_vector")
case("SIG202", "only-default", module(signatures=image_signatures(("default",))), fail="no signature names the task")
case("SIG203", "same", module(), passes="same inputs and outputs as image_feature_vector")
case("SIG203", "other-interface",
     module(signatures=(signature("default", outputs=(default_output(shape=(None, 8)),)),
                        signature("image_feature_vector"))),
     fail="matches none of the named image signatures")
case("SIG203", "other-tensor",
     module(signatures=(signature("default", outputs=(default_output(name="default_scaled:0"),)),
                        signature("image_feature_vector")),
            graph=graph(extra=(node("default_scaled", "Mul", "TinyNet/pool", "TinyNet/pool"),))),
     fail="default_scaled:0")
case("SIG203", "no-default", module(signatures=image_signatures(("image_feature_vector",))), skip="SIG201")
# --- IMG3xx -----------------------------------------------------------------
case("IMG301", "images", module(), passes="named 'images'")
case("IMG301", "wrong-name", module(signatures=image_signatures(inputs=(images(key="image"),))),
     fail="no input named 'images'")
case("IMG301", "extra-input",
     module(signatures=image_signatures(inputs=(images(), tensor("is_training", "bool", ())))),
     fail="expected exactly one input")
case("IMG302", "float32", module(), passes="float32")
case("IMG302", "uint8", module(signatures=image_signatures(inputs=(images(dtype="uint8"),))),
     fail="'images' is uint8")
case("IMG302", "sparse", module(signatures=image_signatures(inputs=(images(encoding="sparse", name=None),))),
     fail="sparse tensor")
case("IMG302", "as-warning", module(signatures=image_signatures(inputs=(images(dtype="uint8"),))),
     severity="warning", warn="uint8")
case("IMG303", "nhwc", module(), passes="NHWC with 3 channels")
case("IMG303", "nchw", module(signatures=image_signatures(inputs=(images(shape=(None, 3, 32, 32)),))),
     fail="NCHW")
case("IMG303", "channels-unknown", module(signatures=image_signatures(inputs=(images(shape=(None, 32, 32, None)),))),
     fail="unknown channels")
case("IMG303", "rank-3", module(signatures=image_signatures(inputs=(images(shape=(32, 32, 3)),))),
     fail="rank 3")
case("IMG303", "unknown-rank", module(signatures=image_signatures(inputs=(images(shape=None),))),
     fail="unknown rank")
case("IMG304", "any-batch", module(), passes="any batch size")
case("IMG304", "fixed-batch", module(signatures=image_signatures(inputs=(images(shape=(1, 32, 32, 3)),))),
     fail="fixed batch size of 1")
case("IMG304", "unknown-rank", module(signatures=image_signatures(inputs=(images(shape=None),))), skip="IMG303")
case("IMG305", "fixed", module(), passes="32x32")
case("IMG305", "any-size", module(signatures=image_signatures(inputs=(images(shape=(None, None, None, 3)),))),
     fail="height and width are not fixed")
case("IMG306", "from-info", module(), passes="from the attached ImageModuleInfo")
case("IMG306", "from-shape", module(attachments=()), passes="from the input shape")
case("IMG306", "info-disagrees", module(attachments=(image_module_info(64, 64),)), fail="says 64x64")
case("IMG306", "no-size", module(attachments=(), signatures=image_signatures(inputs=(images(shape=(None, None, None, 3)),))),
     fail="would raise ValueError")
case("IMG306", "broken-info", module(attachments=(attachment("image_module_info", problem="truncated"),)),
     fail="attachment is broken: truncated")
_DIV255 = (node("preprocess/truediv/y", "Const", values=(255.0,)),
           node("preprocess/truediv", "RealDiv", "images", "preprocess/truediv/y"))
_MEANS = (node("preprocess/means", "Const", values=(123.68, 116.78, 103.94)),
          node("preprocess/sub", "Sub", "images", "preprocess/means"))
case("IMG307", "unit-range", module(), passes="no [0, 255] preprocessing")
case("IMG307", "div255", module(graph=graph(extra=_DIV255)), warn="divides the input by 255")
case("IMG307", "means", module(graph=graph(extra=_MEANS)), warn="subtracts [123.68, 116.78, 103.94]")
case("IMG307", "beyond-depth", module(graph=graph(extra=(node("preprocess/id", "Identity", "images"),
                                                          node("preprocess/truediv/y", "Const", values=(255.0,)),
                                                          node("preprocess/truediv", "RealDiv", "preprocess/id",
                                                               "preprocess/truediv/y")))),
     options={"depth": 1}, passes=True)
case("IMG307", "uint8-input", module(signatures=image_signatures(inputs=(images(dtype="uint8"),))), skip="IMG302")
# --- OUT4xx -----------------------------------------------------------------
case("OUT401", "default", module(), passes="contain 'default'")
case("OUT401", "missing", module(signatures=image_signatures(outputs=(default_output(key="TinyNet/features"),))),
     fail="no output named 'default'")
case("OUT402", "float32", module(), passes="float32")
case("OUT402", "float64", module(signatures=image_signatures(outputs=(default_output(dtype="float64"),))),
     fail="float64")
case("OUT402", "no-default", module(signatures=image_signatures(outputs=(default_output(key="x/y"),))),
     skip="OUT401")
case("OUT403", "rank-2", module(), passes="[?, 16]")
case("OUT403", "rank-4", module(signatures=image_signatures(outputs=(default_output(shape=(None, 4, 4, 16)),))),
     fail="rank 4")
case("OUT403", "fixed-batch", module(signatures=image_signatures(outputs=(default_output(shape=(1, 16)),))),
     fail="fixed batch size 1")
case("OUT403", "unknown-rank", module(signatures=image_signatures(outputs=(default_output(shape=None),))),
     fail="unknown rank")
case("OUT404", "known", module(), passes="N = 16")
case("OUT404", "unknown", module(signatures=image_signatures(outputs=(default_output(shape=(None, None)),))),
     fail="N is unknown")
case("OUT404", "zero", module(signatures=image_signatures(outputs=(default_output(shape=(None, 0)),))),
     fail="N must be > 0")
_DROPOUT = (node("TinyNet/dropout/shape", "Const", values=(2,)),
            node("TinyNet/dropout/random_uniform", "RandomUniform", "TinyNet/dropout/shape"),
            node("TinyNet/dropout/rate", "Const", values=(0.5,)),
            node("TinyNet/dropout/GreaterEqual", "GreaterEqual", "TinyNet/dropout/random_uniform",
                 "TinyNet/dropout/rate"),
            node("TinyNet/dropout/zeros", "Const", values=(0.0,)),
            node("TinyNet/dropout/SelectV2", "SelectV2", "TinyNet/dropout/GreaterEqual", "TinyNet/pool",
                 "TinyNet/dropout/zeros"))
_DROPPED = image_signatures(outputs=(default_output(name="TinyNet/dropout/SelectV2:0"),))
case("OUT405", "none", module(), passes="no dropout between 'default' and TinyNet/pool (Mean)")
case("OUT405", "train-output-dropout", _train_differs(graph=graph(extra=_DROPOUT), signatures=_DROPPED),
     passes="{}: no dropout", fail="{train}: dropout between 'default' and the last computation")
case("OUT405", "scope-only", module(graph=graph(extra=_DROPOUT), signatures=_DROPPED),
     options={"random_ops": []}, fail="ops in a dropout scope")
case("OUT405", "inner-dropout", module(graph=_nodes_with(
    *_DROPOUT[:-1], node("TinyNet/dropout/SelectV2", "SelectV2", "TinyNet/dropout/GreaterEqual",
                         "TinyNet/conv1/Relu", "TinyNet/dropout/zeros"),
    replace=(node("TinyNet/pool", "Mean", "TinyNet/dropout/SelectV2", "TinyNet/pool/reduction_indices"),))),
     passes="no dropout")
case("OUT406", "no-extras", module(), passes="no extra outputs")
case("OUT406", "prefixed", module(signatures=image_signatures(outputs=(
    default_output(), tensor("TinyNet/conv1", shape=(None, 16, 16, 16), name="TinyNet/conv1/Relu:0")))),
    passes="TinyNet/conv1")
case("OUT406", "unprefixed", module(signatures=image_signatures(outputs=(
    default_output(), tensor("conv1", shape=(None, 16, 16, 16), name="TinyNet/conv1/Relu:0")))),
    fail="lack an architecture prefix")
case("OUT406", "unknown-scope", module(signatures=image_signatures(outputs=(
    default_output(), tensor("ResNet/conv1", shape=(None, 16, 16, 16), name="TinyNet/conv1/Relu:0")))),
    fail="not a top-level name scope")
# --- SEC6xx -----------------------------------------------------------------
_WRITE = (node("write/filename", "Const"), node("write/contents", "Const"),
          node("write", "WriteFile", "write/filename", "write/contents"))
_WRITING = _nodes_with(*_WRITE, replace=(
    node("TinyNet/pool", "Mean", "TinyNet/conv1/Relu", "TinyNet/pool/reduction_indices", "^write"),))
case("SEC601", "allowlisted", module(), passes="allowlisted ops")
case("SEC601", "write-file", module(graph=_WRITING), fail="WriteFile")
case("SEC601", "write-file-allowed", module(graph=_WRITING), options={"extra_allowed_ops": ["WriteFile"]},
     passes=True)
case("SEC601", "missing-root", module(signatures=_MISSING_OUTPUT), fail="the graph is malformed")
case("SEC601", "init-op", module(graph=graph(extra=_WRITE), collections=(
    collection("variables"), collection("table_initializer", "node_list", ("write",)))), fail="init op")
_RESTORE = (node("save/Const", "Const"), node("save/other", "Const"),
            node("save/names", "Const"), node("save/slices", "Const"),
            node("save/RestoreV2", "RestoreV2", "save/other", "save/names", "save/slices"),
            node("save/restore_all", "NoOp", "^save/RestoreV2"))
_SAVER = {"has_saver_def": True, "restore_op": "save/restore_all", "saver_filename": "save/Const:0"}
case("SEC601", "restore-own-checkpoint",
     module(graph=graph(extra=_RESTORE[:4] + (
         node("save/RestoreV2", "RestoreV2", "save/Const", "save/names", "save/slices"), _RESTORE[5])), **_SAVER),
     passes=True)
_CALL_BODY = (node("features", "MatMul"),)
_CALL_WRITES = (node("features", "MatMul", "^write"),) + _WRITE
_TF2_LIBRARY = tuple(function(n, _CALL_BODY) for n in ("__inference___call___1", "__inference___call___2",
                                                       "__inference_loss_3"))
case("SEC601", "tf2-restored-functions", tf2_module(library=_TF2_LIBRARY), passes="allowlisted ops")
case("SEC601", "tf2-call-writes", tf2_module(library=(function("__inference___call___1", _CALL_WRITES),)
                                             + _TF2_LIBRARY[1:]), fail="restored function __call__")
case("SEC601", "tf2-trace-missing", tf2_module(library=_TF2_LIBRARY[1:]), fail="__inference___call___1")
case("SEC601", "restore-other-prefix", module(graph=graph(extra=_RESTORE), **_SAVER),
     fail="not a plain restore")

# --- RSM8xx: TF2 SavedModels ----------------------------------------------------
_IMAGE = tensor_spec()
case("RSM801", "present", tf2_module(), passes="2 trace(s)")
case("RSM801", "missing", tf2_module(call=False), fail="no __call__")
case("RSM801", "untraced", tf2_module(call_traces=()), fail="never traced")
case("RSM801", "not-a-function", tf2_module(call=False, extra_children=(("__call__", 1),)), fail="user_object")
case("RSM801", "tf1-skips", module(), skip="applies to tf2-saved-model")
case("RSM802", "both", tf2_module(), passes="training=True and False")
case("RSM802", "no-training", tf2_module(call_traces=(trace("c", _IMAGE),)), passes="no training argument")
case("RSM802", "true-only", tf2_module(call_traces=(trace("c", _IMAGE, True),)), fail="training=True only")
case("RSM802", "keyword-false-only", tf2_module(call_traces=(trace("c", _IMAGE, training=False),)),
     fail="no training=True trace")
case("RSM802", "sizes-differ", tf2_module(call_traces=(
    trace("a", _IMAGE, True), trace("b", tensor_spec(shape=(None, 64, 64, 3)), False))), fail="only")
case("RSM802", "no-call", tf2_module(call=False), skip="RSM801")
case("RSM803", "listed", tf2_module(), passes="every variable __call__ uses")
case("RSM803", "no-list", tf2_module(variables=None, trainable=None), fail="no 'variables' list")
case("RSM803", "one-missing", tf2_module(variables=(5,)), fail="moving_mean")
case("RSM803", "no-variables-used", tf2_module(variables=None, trainable=None,
                                               call_traces=(trace("c", _IMAGE),)), passes="may be omitted")
case("RSM804", "subset", tf2_module(), passes="1 trainable variable")
case("RSM804", "omitted", tf2_module(trainable=None), passes="not offered for fine-tuning")
case("RSM804", "untrainable", tf2_module(trainable=(5, 6)), fail="moving_mean is not trainable")
case("RSM804", "not-in-variables", tf2_module(variables=(6,)), fail="weights is not in 'variables'")
case("RSM804", "not-a-variable", tf2_module(trainable=(4,)), fail="not a variable")
case("RSM805", "scalar", tf2_module(), passes="1 regularization loss")
case("RSM805", "none", tf2_module(losses=()), passes="no regularization losses")
case("RSM805", "takes-input", tf2_module(losses=(trace("l", tensor_spec("x", shape=()),
                                                        outputs=tensor_spec(shape=())),)), fail="takes inputs")
case("RSM805", "vector", tf2_module(losses=(trace("l", outputs=tensor_spec(shape=(8,))),)), fail="scalar float")
case("RSM805", "integer", tf2_module(losses=(trace("l", outputs=tensor_spec(dtype="int32", shape=())),)),
     fail="scalar float")
_TOKENIZE = SavedObject(8, "function", concrete_functions=("tok",))
_TOKENIZE_TRACE = trace("tok", tensor_spec("texts", "string", (None,)))
case("RSM806", "none", tf2_module(), passes="no named sub-callables")
case("RSM806", "traced", tf2_module(extra_nodes=(_TOKENIZE,), extra_children=(("tokenize", 8),),
                                    extra_traces=(_TOKENIZE_TRACE,)), passes="tokenize takes no training")
case("RSM806", "untraced", tf2_module(extra_nodes=(SavedObject(8, "function"),), extra_children=(("tokenize", 8),)),
     fail="tokenize has no concrete function")
case("RSM806", "one-training-value", tf2_module(
    extra_nodes=(_TOKENIZE,), extra_children=(("tokenize", 8),),
    extra_traces=(trace("tok", tensor_spec("texts", "string", (None,)), training=True),)),
     fail="tokenize: (string [?]) is traced with training=True only")
case("RSM807", "unknown", tf2_module(), passes="unknown batch")
case("RSM807", "fixed", tf2_module(call_traces=(trace("c", tensor_spec(shape=(2, 32, 32, 3))),)),
     fail="float32 [2, 32, 32, 3]")
case("RSM807", "one-trace-fixed", tf2_module(call_traces=(trace("c", tensor_spec()),
                                                          trace("d", tensor_spec("ids", "int32", (1, 128))))),
     fail="int32 [1, 128]")

# --- the TF2 image API: reused codes (IMG302, OUT402-OUT404) and OUT411 ----------


def _returns(outputs, images=_IMAGE):
    return tf2_module(call_traces=(trace("a", images, True, outputs=outputs, bound=(5, 6)),
                                   trace("b", images, False, outputs=outputs, bound=(5, 6))))


case("IMG302", "tf2-float32", tf2_module(), passes="__call__ takes float32 [?, ?, ?, 3]")
case("IMG302", "tf2-uint8", _returns(tensor_spec(shape=(None, 8)), tensor_spec(dtype="uint8")),
     fail="uint8 [?, ?, ?, 3]")
case("IMG302", "tf2-text-skips", tf2_module(call_traces=(trace("c", tensor_spec("t", "string", (None,))),)),
     skip="not an image module")
case("OUT402", "tf2-float32", tf2_module(), passes="returns float32")
case("OUT402", "tf2-float64", _returns(tensor_spec(dtype="float64", shape=(None, 8))), fail="float64 [?, 8]")
case("OUT403", "tf2-rank2", tf2_module(), passes="[?, 8]")
case("OUT403", "tf2-rank3", _returns(tensor_spec(shape=(None, 1, 8))), fail="expected rank 2")
case("OUT403", "tf2-fixed-batch", _returns(tensor_spec(shape=(4, 8))), fail="fixed batch size 4")
case("OUT404", "tf2-known", tf2_module(), passes="N = 8")
case("OUT404", "tf2-unknown", _returns(tensor_spec(shape=(None, None))), fail="N is not a known constant")
_DICT_OUT = StructDict((("default", tensor_spec(shape=(None, 8))),))
case("OUT404", "tf2-dict-skips", _returns(_DICT_OUT), skip="OUT411")
case("OUT411", "single", tf2_module(), passes="single tensor")
case("OUT411", "dict", _returns(_DICT_OUT), fail="{default: float32 [?, 8]}")
case("OUT411", "tuple", _returns((tensor_spec(shape=(None, 8)), tensor_spec(shape=(None, 8)))), fail="tuple")
case("OUT411", "tf1-skips", module(), skip="applies to tf2-saved-model")

# --- TXT75x: the TF2 text APIs ------------------------------------------------------
_TEXTS = tensor_spec("texts", "string", (None,))
_IDS = StructDict(tuple((k, tensor_spec(k, "int32", (None, 4))) for k in ("input_mask", "input_type_ids",
                                                                             "input_word_ids")))


def _text_model(inputs, outputs, **kw):
    return tf2_module(call_traces=(trace("c", inputs, outputs=outputs),), **kw)


_TF2_EMBEDDING = _text_model(_TEXTS, tensor_spec(shape=(None, 8)))
_PREPROCESSOR = _text_model(_TEXTS, _IDS)
_ENCODER_OUT = (("default", tensor_spec(shape=(None, 8))), ("pooled_output", tensor_spec(shape=(None, 8))),
                ("sequence_output", tensor_spec(shape=(None, 4, 8))))
_ENCODER = _text_model(_IDS, StructDict(_ENCODER_OUT))
case("TXT751", "embedding", _TF2_EMBEDDING, passes="string [?] -> float32 [?, 8]")
case("TXT751", "float64", _text_model(_TEXTS, tensor_spec(dtype="float64", shape=(None, 8))), fail="float64")
case("TXT751", "dim-unknown", _text_model(_TEXTS, tensor_spec(shape=(None, None))), fail="dim known")
case("TXT751", "image-skips", tf2_module(), skip="not a TF2 text embedding")
case("TXT751", "preprocessor-skips", _PREPROCESSOR, skip="its API: preprocessor")
case("TXT752", "int32", _PREPROCESSOR, passes="input_word_ids")
case("TXT752", "float-mask", _text_model(_TEXTS, StructDict((("input_mask", tensor_spec(shape=(None, 4))),))),
     fail="input_mask is float32 [?, 4]")
case("TXT752", "rank1", _text_model(_TEXTS, StructDict((("ids", tensor_spec("i", "int32", (None,))),))),
     fail="ids is int32 [?]")
case("TXT753", "encoder", _ENCODER, passes="'default' is float32 [?, 8]")
case("TXT753", "no-default", _text_model(_IDS, StructDict(_ENCODER_OUT[1:])), fail="expected a dict with 'default'")
case("TXT753", "sequence-rank2", _text_model(_IDS, StructDict(_ENCODER_OUT[:2] + (
    ("sequence_output", tensor_spec(shape=(None, 8))),))), fail="'sequence_output' is float32 [?, 8]")
case("TXT753", "extra-layers", _text_model(_IDS, StructDict(_ENCODER_OUT + (
    ("encoder_outputs", (tensor_spec(shape=(None, 4, 8)),)),))), passes=True)
_TOKENIZE_NODE = SavedObject(8, "function", concrete_functions=("tok",))


def _with_tokenize(outputs):
    return tf2_module(call_traces=(trace("c", _TEXTS, outputs=_IDS),), extra_nodes=(_TOKENIZE_NODE,),
                      extra_children=(("tokenize", 8),), extra_traces=(trace("tok", _TEXTS, outputs=outputs),))


case("TXT754", "ragged", _with_tokenize(TypeSpec("ragged", "int32", (None, None), 1)), passes="ragged int32")
case("TXT754", "dense", _with_tokenize(tensor_spec("t", "int32", (None, None))), fail="int32 [?, ?]")
case("TXT754", "ragged-int64", _with_tokenize(TypeSpec("ragged", "int64", (None, None), 1)), fail="ragged int64")
case("TXT754", "no-tokenize", _PREPROCESSOR, skip="no tokenize")
_PACK_NODE = SavedObject(8, "function", concrete_functions=("pack",))
_SEGMENT = TypeSpec("ragged", "int32", (None, None), 1)


def _with_pack(*args, outputs=_IDS, bound=(), **kwargs):
    """A preprocessor whose bert_pack_inputs takes ``args`` and ``kwargs`` and returns ``outputs``."""
    return tf2_module(call_traces=(trace("c", _TEXTS, outputs=_IDS),), extra_nodes=(_PACK_NODE,),
                      extra_children=(("bert_pack_inputs", 8),),
                      extra_traces=(trace("pack", *args, outputs=outputs, bound=bound, **kwargs),))


def _packed(length):
    return StructDict(tuple((k, tensor_spec(k, "int32", (None, length))) for k in ("input_mask", "input_word_ids")))


case("TXT755", "two-segments", _with_pack((_SEGMENT, _SEGMENT), 4),
     passes="bert_pack_inputs((ragged int32 [?, ?], ragged int32 [?, ?]), seq_length=4) -> {input_mask")
case("TXT755", "default-length", _with_pack((_SEGMENT,)), passes="int32 [?, 4]")
case("TXT755", "tensor-length", _with_pack((_SEGMENT,), outputs=_packed(None), seq_length=tensor_spec("s", "int32", ())),
     passes=True)
case("TXT755", "variable", _with_pack((_SEGMENT,), 4, bound=(5,)), fail="captures variable(s) weights")
case("TXT755", "dense-segments", _with_pack((tensor_spec("t", "int32", (None, None)),), 4), fail="ragged integer")
case("TXT755", "length-differs", _with_pack((_SEGMENT,), 8), fail="input_mask is int32 [?, 4]")
case("TXT755", "length-unknown", _with_pack((_SEGMENT,), outputs=_packed(None)), fail="seq_length known")
case("TXT755", "float-mask", _with_pack((_SEGMENT,), 4, outputs=StructDict((("input_mask", tensor_spec(shape=(None, 4))),))),
     fail="input_mask is float32 [?, 4]")
case("TXT755", "extra-argument", _with_pack((_SEGMENT,), 4, training=True), fail="takes training besides")
case("TXT755", "no-pack", _PREPROCESSOR, skip="no bert_pack_inputs")
case("TXT755", "encoder-skips", _ENCODER, skip="its API: encoder")


# --- TXT70x: text modules (their kind, facts.kind, is tested in test_text_modules.py) -----
_SENTENCES = tensor("default", "string", (None,), name="sentences:0")
_EMBEDDING = tensor("default", "float32", (None, 8), name="embedding:0")
_TEXT_NODES = (node("sentences", "Placeholder"), node("table", "Const"),
               node("ids", "StringToHashBucketFast", "sentences"),
               node("combined", "SparseSegmentSqrtN", "table", "ids"),
               node("embedding", "Identity", "combined"))


def text_module(inputs=(_SENTENCES,), outputs=(_EMBEDDING,), nodes=_TEXT_NODES, train_nodes=None):
    """A text module: default maps string [?] to float32 [?, 8] through a combiner, in {} and {train}."""
    metas = tuple(meta_graph(tags, signatures=(signature("default", inputs, outputs),), attachments=(),
                             graph=graph(train_nodes if tags and train_nodes else nodes))
                  for tags in ((), ("train",)))
    return module(metas)


def text_conformant_for(code: str):
    return text_module() if code.startswith("TXT") else module()


case("TXT701", "one-input", text_module(), passes="one input, 'default'")
case("TXT701", "sparse-input", text_module((tensor("default", "string", (None,), encoding="sparse", name="v:0",
                                                   components=("i:0", "v:0", "s:0")),)), fail="dense")
case("TXT702", "string", text_module(), passes="'default' is string")
case("TXT702", "token-ids", text_module((tensor("default", "int32", (None,)),)), fail=("int32", "token ids"))
case("TXT703", "batch", text_module(), passes="[?]")
case("TXT703", "column", text_module((tensor("default", "string", (None, 1)),)), fail="rank 2 [?, 1]")
case("TXT703", "fixed-batch", text_module((tensor("default", "string", (8,)),)), fail="fixed batch size")
case("TXT704", "float32-n", text_module(), passes="float32 [?, 8]")
case("TXT704", "unknown-n", text_module(outputs=(tensor("default", "float32", (None, None)),)), fail="N unknown")
case("TXT704", "float64", text_module(outputs=(tensor("default", "float64", (None, 8)),)), fail="dense float32")
_TEXT_DROPOUT = _TEXT_NODES[:-1] + (
    node("dropout/random_uniform", "RandomUniform", "table"),
    node("dropout/GreaterEqual", "GreaterEqual", "dropout/random_uniform", "table"),
    node("dropout/SelectV2", "SelectV2", "dropout/GreaterEqual", "combined", "table"),
    node("embedding", "Identity", "dropout/SelectV2"))
case("TXT705", "none", text_module(), passes="no dropout between 'default' and combined (SparseSegmentSqrtN)")
case("TXT705", "train-output-dropout", text_module(train_nodes=_TEXT_DROPOUT),
     passes="{}: no dropout", fail="{train}: dropout between 'default' and the last computation")


@pytest.mark.parametrize("code, facts, expected, evaluate_kw", CASES)
def test_rule_on_built_facts(code, facts, expected, evaluate_kw):
    assert_results(code, facts, **expected, **evaluate_kw)


_TF2_TEXT_ONLY = ("TXT751", "TXT752", "TXT753", "TXT754", "TXT755")


def test_the_conformant_module_passes_every_static_rule():
    """The conformant image module, and for text rules the conformant text module."""
    for rule in STATIC:
        if rule.code.startswith("TXT75"):  # each judges one kind of TF2 text model
            continue
        assert_passes(rule.code, text_conformant_for(rule.code) if "tf1-hub" in rule.formats else tf2_module())
    for rule in STATIC:
        # a static rule with a runtime half (OUT405) judges a TF2 model only when it runs: test_runtime_inprocess
        if "tf2-saved-model" in rule.formats and rule.code not in ("HUB107", "SEC601") + _TF2_TEXT_ONLY \
                and not rule.runtime_half:
            assert_passes(rule.code, tf2_module())
    for code, facts in (("TXT751", _TF2_EMBEDDING), ("TXT752", _PREPROCESSOR), ("TXT753", _ENCODER)):
        assert_passes(code, facts)


def test_the_harness_can_fail():
    """assert_results must reject a status or a text that the results do not have."""
    with pytest.raises(AssertionError, match="expected"):
        assert_results("IMG302", module(), fail=True)
    with pytest.raises(AssertionError, match="mentions"):
        assert_results("IMG302", module(), passes="uint8")
    with pytest.raises(AssertionError, match="say which"):
        assert_results("IMG302", module())


def test_every_static_rule_has_passing_and_failing_cases():
    """A new static rule (or the static half of a rule with a runtime half) needs cases here."""
    covered: dict = {}
    for param in CASES:
        code, _, expected, kw = param.values
        covered.setdefault(code, set()).update(expected)
    missing = [r.code for r in STATIC
               if not {"passes", "fail" if r.severity == "error" else "warn"} <= covered.get(r.code, set())]
    assert not missing, f"static rules without in-process cases: {', '.join(missing)}"

