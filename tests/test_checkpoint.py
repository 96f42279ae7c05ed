"""variables/variables.index read without TensorFlow: the same tensors TensorFlow lists, and
arbitrary bytes end in CheckpointError, never another exception."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import rule_verdicts, run_sigcheck, run_sigcheck_inprocess
from sigcheck.facts.checkpoint import CheckpointError, parse_index, read_index, snappy_decompress

REALWORLD = ("deepmind-research__DM21", "deepmind-research__DM21m", "deepmind-research__DM21mc",
             "deepmind-research__DM21mu", "tensorflow_hub__saved_model_v2_mini")


def _tensorflow_view(prefix: str) -> dict:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    return {name: (dtypes[name].name, tuple(shape)) for name, shape in reader.get_variable_to_shape_map().items()}


def _ours(index: str) -> dict:
    return {e.name: (e.dtype, e.shape) for e in read_index(index)}


def test_fixture_checkpoint_reads_as_tensorflow_lists_it(modules):
    variables = os.path.join(modules.build("classifier-conformant"), "variables")
    assert _ours(os.path.join(variables, "variables.index")) == _tensorflow_view(os.path.join(variables, "variables"))


@pytest.mark.parametrize("name", REALWORLD)
def test_real_world_checkpoint_reads_as_tensorflow_lists_it(name, shared_data):
    """DeepMind's DM21 indexes are Snappy-compressed: the block decoder is exercised on real bytes."""
    variables = shared_data / "realworld" / name / "variables"
    ours = _ours(str(variables / "variables.index"))
    assert ours and ours == _tensorflow_view(str(variables / "variables"))


@pytest.fixture(scope="module")
def real_index(modules):
    with open(os.path.join(modules.build("fv-conformant"), "variables", "variables.index"), "rb") as f:
        return f.read()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_index_raises_checkpoint_error_only(real_index, data):
    position = data.draw(st.integers(0, len(real_index) - 1))
    damaged = bytearray(real_index)
    choice = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if choice == "flip":
        damaged[position] ^= data.draw(st.integers(1, 255))
    elif choice == "truncate":
        damaged = damaged[:position]
    else:
        damaged[position:position] = data.draw(st.binary(max_size=64))
    try:
        parse_index(bytes(damaged))
    except CheckpointError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=512))
def test_arbitrary_bytes_raise_checkpoint_error_only(raw):
    for parse in (parse_index, snappy_decompress):
        try:
            parse(raw)
        except CheckpointError:
            pass


def test_snappy_copies_may_overlap_their_output():
    # length 6; literal "ab"; copy (1-byte offset form) of 4 bytes from offset 2
    assert snappy_decompress(bytes([6, 0x04, 0x61, 0x62, 0x01, 0x02])) == b"ababab"


def test_static_run_compares_the_checkpoint_with_the_graph(modules):
    report = run_sigcheck_inprocess("--static", "--format", "json", modules.build("hub105-mismatched-variables")).json
    message = next(r["message"] for r in report["results"] if r["rule"] == "HUB105" and r["status"] == "fail")
    assert "TinyNet/conv2/weights is [3, 3, 8, 12] in the graph but [3, 3, 8, 16] in the checkpoint" in message


def test_an_unreadable_index_fails_hub105_with_one_line(modules, tmp_path):
    module = tmp_path / "garbage-index"
    shutil.copytree(modules.build("fv-conformant"), module)
    (module / "variables" / "variables.index").write_bytes(b"\x00" * 40 + b"not a table at all")
    run = run_sigcheck("--static", "--format", "json", module)
    assert run.returncode == 1 and not run.tensorflow_imported
    assert rule_verdicts(run.json)["HUB105"] == "fail"
    message = next(r["message"] for r in run.json["results"] if r["rule"] == "HUB105" and r["status"] == "fail")
    assert "variables/variables.index cannot be read: no table magic number" in message
