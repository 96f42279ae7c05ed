"""Reading modules into facts with protobuf only: what is read, and that TF never is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sigcheck.errors import ReadError
from sigcheck.facts import read_module
from sigcheck.facts.graph import walk_back
from sigcheck.facts.image import expected_image_size, image_signature_names


def test_reads_tag_sets_signatures_attachments_and_graph(modules):
    facts = read_module(modules.build("fv-conformant"))
    assert facts.module_def.present and facts.module_def.format == 3 and facts.module_def.required_features == ()
    assert facts.tag_sets == ((), ("train",))
    assert facts.has_variables and facts.checkpoint
    primary = facts.primary
    assert primary.signature_names == ("default", "image_feature_vector")
    images = primary.signature("default").input("images")
    assert (images.name, images.dtype, images.shape, images.encoding) == ("images:0", "float32", (None, 32, 32, 3),
                                                                           "dense")
    out = primary.signature("default").output("default")
    assert out.dtype == "float32" and out.shape == (None, 16)
    assert {c.key for c in primary.collections} == {"variables", "trainable_variables", "hub_module_attachments"}
    info = primary.image_module_info
    assert info.image_size.height == 32 and info.image_size.width == 32 and info.problem is None
    assert "TinyNet" in primary.graph.top_level_scopes
    ops = {n.op for n in primary.graph.nodes}
    assert {"Placeholder", "Conv2D", "Mean", "VarHandleOp"} <= ops
    train_dropout = [n for n in facts.meta_graphs[1].graph.nodes if "/dropout/" in n.name]
    assert train_dropout and not [n for n in primary.graph.nodes if "/dropout/" in n.name]


def test_walk_back_follows_inputs_to_the_placeholder(modules):
    facts = read_module(modules.build("fv-conformant"))
    meta = facts.primary
    walk = walk_back(meta.graph, [meta.signature("default").output("default").name])
    names = [node.name for node in walk.nodes]
    assert names[0] == "TinyNet/pool" and "images" in names
    conv = next(node for node in walk.nodes if node.op == "Conv2D")
    path = walk.path(None, conv.name)
    assert path[0] == "TinyNet/pool (Mean)" and path[-1] == f"{conv.name} (Conv2D)"
    stopped = walk_back(meta.graph, ["TinyNet/pool"], stop=lambda n: n.op == "Relu").nodes
    assert sorted(n.op for n in stopped) == ["Const", "Mean", "Relu"]  # Relu stops the walk


def test_image_size_mirrors_get_expected_image_size(modules):
    for name, expected in [("fv-conformant", ((32, 32), "image_module_info")),
                           ("fv-no-image-info", ((32, 32), "input_shape")),
                           ("img305-any-size", ((32, 32), "image_module_info")),
                           ("img306-info-disagrees", ((64, 64), "image_module_info"))]:
        meta = read_module(modules.build(name)).primary
        size = expected_image_size(meta, meta.signature("default"))
        assert ((size.size.height, size.size.width), size.source) == expected, name
    meta = read_module(modules.build("img306-no-size")).primary
    size = expected_image_size(meta, meta.signature("default"))
    assert size.size is None and "known height and width" in size.problem
    meta = read_module(modules.build("img301-input-named-image")).primary
    # an attached ImageModuleInfo wins even when there is no 'images' input, as in hub 0.15
    assert expected_image_size(meta, meta.signature("default")).size.height == 32


def test_image_signatures(modules):
    assert image_signature_names(read_module(modules.build("classifier-conformant")).primary) == (
        "default", "image_classification", "image_feature_vector")
    assert image_signature_names(read_module(modules.build("sig201-no-default")).primary) == (
        "image_feature_vector",)
    assert image_signature_names(read_module(modules.build("sig202-no-task-name")).primary) == ("default",)


def test_sparse_and_unknown_rank_tensor_infos(modules, tmp_path):
    """Encodings no fixture exporter writes, set directly in the proto with TensorFlow's own classes."""
    from tensorflow.core.protobuf import saved_model_pb2

    import shutil

    module = tmp_path / "sparse"
    shutil.copytree(modules.build("fv-conformant"), module)
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((module / "saved_model.pb").read_bytes())
    signature = saved_model.meta_graphs[0].signature_def["default"]
    sparse = signature.inputs["ids"]
    sparse.coo_sparse.values_tensor_name = "ids/values:0"
    sparse.coo_sparse.indices_tensor_name = "ids/indices:0"
    sparse.coo_sparse.dense_shape_tensor_name = "ids/shape:0"
    sparse.dtype = 9  # int64
    sparse.tensor_shape.unknown_rank = True
    (module / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    ids = read_module(str(module)).primary.signature("default").input("ids")
    assert (ids.encoding, ids.dtype, ids.shape, ids.name) == ("sparse", "int64", None, "ids/values:0")


def test_half_plus_two_is_read_as_a_non_image_module(shared_data, tmp_path):
    import tarfile

    with tarfile.open(shared_data / "half_plus_two_v1.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    facts = read_module(str(tmp_path))
    assert facts.tag_sets == ((),)
    default = facts.primary.signature("default")
    assert default.input("default").shape is None and default.output("default").dtype == "float32"
    assert image_signature_names(facts.primary) == ()


@pytest.mark.parametrize("content,message", [(None, "no saved_model.pb"), (b"\xff\xff\xff", "does not parse")])
def test_unreadable_saved_models_raise_read_error(tmp_path, content, message):
    if content is not None:
        (tmp_path / "saved_model.pb").write_bytes(content)
    with pytest.raises(ReadError, match=message):
        read_module(str(tmp_path))


def test_reading_never_imports_tensorflow(modules):
    path = modules.build("classifier-conformant")
    code = ("import sys\nfrom sigcheck.facts import read_module\nfrom sigcheck.api import check\n"
            "from sigcheck.config import Config\n"
            f"read_module({path!r}); r = check({path!r}, Config(static=True))\n"
            "assert r.verdict == 'pass', r.verdict\n"
            "print('tensorflow' in sys.modules, 'tensorflow_hub' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


def test_meta_graphs_with_one_graph_share_its_facts_and_walks(modules, tmp_path, monkeypatch):
    """Tag sets whose graph_defs are byte-identical are read once and walked once: the report is
    exactly that of reading and walking each on its own."""
    import shutil

    from sigcheck.api import check
    from sigcheck.config import Config
    from sigcheck.facts import protos, reader
    from sigcheck.render import renderer

    module = tmp_path / "twins"
    shutil.copytree(modules.build("sec601-abort"), module)
    saved_model = protos.SavedModel()
    saved_model.ParseFromString((module / "saved_model.pb").read_bytes())
    assert len(saved_model.meta_graphs) == 2
    saved_model.meta_graphs[1].graph_def.CopyFrom(saved_model.meta_graphs[0].graph_def)
    (module / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    facts = read_module(str(module))
    assert facts.meta_graphs[0].graph is facts.meta_graphs[1].graph
    shared = renderer("json")([check(str(module), Config(static=True))])
    monkeypatch.setattr(reader, "_shared_graph_facts", lambda graph_def, graphs: reader._graph_facts(graph_def))
    assert read_module(str(module)).meta_graphs[0].graph is not read_module(str(module)).meta_graphs[1].graph
    alone = renderer("json")([check(str(module), Config(static=True))])
    assert "Abort" in shared
    assert shared == alone
