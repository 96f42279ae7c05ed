"""Text modules in-process (issue 13): the kind definition (TXT70x cases are in
test_rules_inprocess.py), SEC601's asset exception, and the text ops of the allowlist against TensorFlow's op registry.

Real text modules (fixtures/text.py) run through tests/test_static_rules.py and
tests/test_runtime_rules.py like every fixture; these are the fast layer beside them.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from sigcheck.analysis.execution import unsafe_ops
from sigcheck.config import Config
from sigcheck.engine import effective_options
from sigcheck.errors import ConfigError
from sigcheck.facts.assets import AssetFacts, PathConst, VariableHandle, asset_problem
from sigcheck.facts.kind import module_kind
from sigcheck.rules import rule_by_code
from sigcheck.testing import assert_results, graph, meta_graph, module, node, signature, tensor

SENTENCES = tensor("default", "string", (None,), name="sentences:0")
EMBEDDING = tensor("default", "float32", (None, 8), name="embedding:0")
TEXT_OPS = ("StringSplit", "StringToHashBucketFast", "SegmentSum", "UnsortedSegmentSum", "DenseBincount",
            "RaggedGather", "RaggedRange", "RaggedTensorToSparse", "RaggedTensorToTensor", "RaggedTensorFromVariant",
            "RaggedTensorToVariant", "RaggedCross", "RaggedFillEmptyRows", "RaggedBincount", "RaggedCountSparseOutput",
            "StringToHashBucket", "StringToHashBucketStrong", "StringNGrams", "UnicodeDecode",
            "UnicodeDecodeWithOffsets", "UnicodeScript", "RegexFullMatch", "StaticRegexFullMatch", "SegmentMean",
            "SegmentMax", "UnsortedSegmentMax", "SparseSegmentSumWithNumSegments", "Bincount")


def text_module(inputs=(SENTENCES,), outputs=(EMBEDDING,), **kw):
    return module(signatures=(signature("default", inputs, outputs),), attachments=(), **kw)


@pytest.mark.parametrize("inputs, outputs, kind", [
    ((SENTENCES,), (EMBEDDING,), "text"),
    ((tensor("default", "int32", (None,)),), (EMBEDDING,), "text"),  # token ids: a text module violating TXT702
    ((tensor("default", "string", (None, 1)),), (EMBEDDING,), "text"),  # 2-D: violates TXT703
    ((SENTENCES,), (tensor("default", "float32", (None, None)),), "text"),  # N unknown: violates TXT704
    ((SENTENCES,), (tensor("default", "float32", (None,)),), "other"),  # rank-1 output
    ((SENTENCES,), (tensor("default", "int64", (None, 8)),), "other"),  # not floating
    ((tensor("default", "string", (None, 2, 2)),), (EMBEDDING,), "other"),  # rank 3
    ((SENTENCES, tensor("lengths", "int32", (None,))), (EMBEDDING,), "other"),  # two inputs
    ((tensor("default", "float32", (None,)),), (EMBEDDING,), "other"),  # floats are not text
])
def test_the_kind_is_decided_exactly_as_documented(inputs, outputs, kind):
    assert module_kind(text_module(inputs, outputs)) == kind


def test_an_image_signature_makes_an_image_module_and_kind_can_be_forced():
    assert module_kind(module()) == "image"
    other = text_module(outputs=(tensor("default", "float32", (None,)),))
    assert module_kind(replace(other, forced_kind="text")) == "text"
    assert_results("TXT704", replace(other, forced_kind="text"), fail="rank 2")
    assert_results("IMG301", replace(module(), forced_kind="text"), skip="not an image module")
    assert_results("TXT701", module(), skip="not a text module (kind: image)")


# --- SEC601: the assets a module may read ---------------------------------------

def _reading(filename_node="asset_path", *, assets=None, path_consts=None, extra=()):
    """A meta graph whose table_initializer runs InitializeTableFromTextFileV2(table, filename_node)."""
    nodes = (node("table", "HashTableV2"), node("asset_path", "Const"),
             node("init", "InitializeTableFromTextFileV2", "table", filename_node), *extra)
    from sigcheck.testing import collection

    collections = (collection("table_initializer", "node_list", ("init",)),)
    return meta_graph(graph=graph(extra=nodes), collections=collections, attachments=(),
                      assets=(AssetFacts("asset_path:0", "tokens.txt", "asset_file_def"),
                              AssetFacts("asset_path:0", "tokens.txt", "saved_model_assets"))
                      if assets is None else assets,
                      path_consts=(PathConst("asset_path", "/export/tokens.txt"),) if path_consts is None
                      else path_consts)


def _reasons(meta):
    options = effective_options(rule_by_code("SEC601"))
    return [f.reason or f.what for f in unsafe_ops(meta, options)]


def test_a_table_reading_a_declared_asset_inside_the_module_is_allowed():
    assert _reasons(_reading()) == []
    assert _reasons(_reading("through", extra=(node("through", "Identity", "asset_path"),))) == []


@pytest.mark.parametrize("meta, says", [
    (_reading(assets=()), "'/export/tokens.txt': an absolute path outside the module, not a declared asset"),
    (_reading(assets=(), path_consts=(PathConst("asset_path", "tokens.txt"),)), "not a declared asset"),
    (_reading(assets=(), path_consts=(PathConst("asset_path", "../x"),)), "leaving the module"),
    (_reading(assets=(AssetFacts("asset_path:0", "../x", "asset_file_def", "'../x' leaves the assets directory"),
                      AssetFacts("asset_path:0", "../x", "saved_model_assets", "'../x' leaves the assets directory"))),
     "leaves the assets directory"),
    (_reading(assets=(AssetFacts("asset_path:0", "tokens.txt", "asset_file_def"),)), "hub.Module does not rewrite"),
    (_reading("read", extra=(node("read", "ReadFile", "asset_path"),)), "ReadFile"),
])
def test_any_other_file_read_stays_a_violation_saying_why(meta, says):
    assert any(says in reason for reason in _reasons(meta)), _reasons(meta)


def test_an_asset_file_must_be_a_regular_file_inside_the_module(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "tokens.txt").write_text("a\n")
    os.symlink("/etc/hostname", tmp_path / "assets" / "out.txt")
    assert asset_problem(str(tmp_path), "tokens.txt") is None
    assert "link leaving the module" in asset_problem(str(tmp_path), "out.txt")
    assert "absolute path" in asset_problem(str(tmp_path), "/etc/hostname")
    assert "'..'" in asset_problem(str(tmp_path), "../tokens.txt")
    assert "does not exist" in asset_problem(str(tmp_path), "missing.txt")


def test_text_ops_of_the_allowlist_are_stateless_in_tensorflows_registry():
    """Each op added for text modules is registered and declares no side effect; the file-reading
    table ops take the filename at input 1, as analysis.assets assumes."""
    pytest.importorskip("tensorflow")
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session as c_api

    ops = op_def_pb2.OpList()
    ops.ParseFromString(c_api.TF_GetBuffer(c_api.TF_GetAllOpList()))
    registry = {op.name: op for op in ops.op}
    options = rule_by_code("SEC601").options
    assert set(TEXT_OPS) <= set(options["allowed_ops"])
    for name in TEXT_OPS:
        assert name in registry and not registry[name].is_stateful, name
    for name in options["asset_ops"]:
        assert registry[name].input_arg[1].name == "filename", name


def test_kind_is_a_validated_setting():
    assert Config(kind="text").kind == "text"
    with pytest.raises(ConfigError, match="kind must be one of image, text"):
        Config(kind="audio")


def test_kind_is_shown_and_kind_text_tells_an_image_module_why_it_is_no_text_module(modules):
    """`--kind text` on the conformant image module: image rules skip, TXT rules say what breaks them."""
    from helpers import rule_verdicts, run_sigcheck_inprocess

    path = modules.build("fv-conformant")
    forced = run_sigcheck_inprocess("--static", "--format", "json", "--kind", "text", path).json
    verdicts = rule_verdicts(forced)
    assert forced["facts"]["kind"] == "text" and verdicts["IMG301"] == "skip"
    assert (verdicts["TXT701"], verdicts["TXT702"], verdicts["TXT703"]) == ("pass", "fail", "fail")
    text = run_sigcheck_inprocess("--static", modules.build("text-conformant")).stdout
    assert "Kind" in text and "text" in text and "Common Signatures for Text" in text


# --- SEC601: a TF2 table initialised in a library function (issue 14) ----------
# The shape tf.saved_model.save writes for a StaticHashTable over a TextFileInitializer of an Asset:
# the table's _initialize is a restored concrete function whose filename argument is bound to the
# captured asset object, and the graph's init op (for TensorFlow's TF1 loader) calls the same
# function with the value of a variable assigned the declared asset Placeholder.
_INIT = "__inference__initializer_1"


def _tf2_reading(*, bound=(8, 9), body=None, inputs=("filepath", "handle"), call_args=("read", "hash_table"),
                 extra=(), assets=None, handles=None, path_consts=(), asset_problem=None):
    from sigcheck.facts.assets import VariableHandle
    from sigcheck.facts.objects import SavedObject
    from sigcheck.testing import collection, function, reusable_graph, tensor_spec, tf2_module, trace

    body = body or (node("init", "InitializeTableFromTextFileV2", "handle", "filepath"),
                    node("Const", "Const"), node("Identity", "Identity", "Const:output:0", "^init"))
    objects = reusable_graph(
        extra_children=(("vocabulary", 8), ("table", 9)),
        extra_nodes=(SavedObject(8, "asset", asset_index=0), SavedObject(9, "resource", (("_initialize", 10),)),
                     SavedObject(10, "function", concrete_functions=(_INIT,)),
                     SavedObject(11, "constant", constant="hostname")),
        extra_traces=(trace(_INIT, outputs=tensor_spec("output_0", "int32", ()), bound=bound),))
    nodes = (node("asset_path_initializer", "Placeholder"), node("Variable", "VarHandleOp"),
             node("Variable/Assign", "AssignVariableOp", "Variable", "asset_path_initializer"),
             node("read", "ReadVariableOp", "Variable", "^Variable/Assign"), node("hash_table", "HashTableV2"),
             node("hostname", "Const"),
             node("call", "StatefulPartitionedCall", *call_args, functions=(_INIT,)),
             node("main", "NoOp", "^call", "^Variable/Assign"), *extra)
    others = tuple(function(f.name, ()) for f in objects.concrete_functions if f.name != _INIT)
    meta = tf2_module(objects, library=(function(_INIT, body, inputs),) + others).meta_graphs[0]
    return replace(meta, graph=graph(nodes, meta.graph.functions),
                   collections=(collection("saved_model_main_op", "node_list", ("main",)),),
                   assets=(AssetFacts("asset_path_initializer:0", "vocab.txt", "asset_file_def", asset_problem),)
                   if assets is None else assets,
                   handles=(VariableHandle("Variable", None, ("", "Variable")),) if handles is None else handles,
                   path_consts=(PathConst("hostname", "/etc/hostname"), *path_consts))


def test_a_tf2_table_reading_its_captured_asset_is_allowed():
    assert _reasons(_tf2_reading()) == []
    # through a function that passes its own argument on, and Identity ops
    inner = (node("arg", "Identity", "filepath"), node("init", "InitializeTableFromTextFileV2", "handle", "arg:output:0"))
    outer = (node("call", "PartitionedCall", "filepath", "handle", functions=("inner",)),)
    from sigcheck.testing import function
    meta = _tf2_reading(body=outer)
    meta = replace(meta, graph=graph(meta.graph.nodes, meta.graph.functions + (
        function("inner", inner, ("filepath", "handle")),)))
    assert _reasons(meta) == []


@pytest.mark.parametrize("meta, says", [
    (_tf2_reading(bound=(11, 9)), "'/etc/hostname', a constant captured by __inference__initializer_1: an absolute"),
    (_tf2_reading(bound=(9,)), "argument 0 of restored function __inference__initializer_1, a path its caller"),
    (_tf2_reading(bound=(9, 8)), "captures, object 9 (resource), not a declared asset"),
    (_tf2_reading(asset_problem="assets/vocab.txt does not exist in the module"), "does not exist in the module"),
    (_tf2_reading(body=(node("path", "Const"), node("init", "InitializeTableFromTextFileV2", "handle", "path"))),
     "computed by 'path' (Const) inside function"),
    (_tf2_reading(call_args=("hostname", "hash_table")), "reads '/etc/hostname': an absolute path outside the module"),
    (_tf2_reading(extra=(node("evil", "AssignVariableOp", "Variable", "hostname"),)),
     "'/etc/hostname': an absolute path outside the module, not a declared asset (assigned to variable 'Variable'"),
    (_tf2_reading(extra=(node("restore", "StatefulPartitionedCall", "Variable"),)), "'restore' (StatefulPartitionedCall) also"),
    (_tf2_reading(handles=(VariableHandle("Variable", None, ("", "Variable")),
                           VariableHandle("v", "__inference_f", ("", "Variable")))), "also named by 'v'"),
    (_tf2_reading(assets=()), "reads asset object 8, whose asset_file_def entry does not exist"),
    (_tf2_reading(call_args=()), "which 'call' does not pass"),
])
def test_any_other_tf2_file_read_stays_a_violation_saying_why(meta, says):
    assert any(says in reason for reason in _reasons(meta)), _reasons(meta)
