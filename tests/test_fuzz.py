"""The static path survives any bytes (issue 17): the fuzz target in CI and its regressions.

CI runs fuzz/run.py for a fixed, seeded budget: reproducible, a few thousand
module variants in ~20 s.  Every crash class the fuzzer (or the issue) found
has a fixture recipe here, checked in-process through the same oracle.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from helpers import REPO

sys.path.insert(0, str(REPO / "fuzz"))

import corpus  # noqa: E402
from mutator import Mutator  # noqa: E402
from target import FORMATS, Finding, judge, render  # noqa: E402

from sigcheck.api import check  # noqa: E402
from sigcheck.config import Config  # noqa: E402
from sigcheck.facts import protos  # noqa: E402
from sigcheck.facts.reader import _const_values  # noqa: E402
from sigcheck.results import ErrorInfo, Report, Result  # noqa: E402

CI_RUNS, CI_SEED = 300, 17
# Crashes in the files the sec branch rewrites (issue 17 items 2 and 3), tolerated until it is merged.
def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))


@pytest.mark.slow
def test_a_short_seeded_fuzz_run_finds_nothing(tmp_path):
    """The seeds are built by fuzz/run.py itself (one fresh process, fixed order): the same run here,
    in any other test order and on a contributor's machine."""
    done = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "run.py"), "--runs", str(CI_RUNS), "--seed", str(CI_SEED),
         "--seeds-dir", str(tmp_path / "seeds"), "--findings", str(tmp_path / "findings"), "--no-coverage"],
        capture_output=True, text=True, timeout=600, preexec_fn=_limit_memory)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert re.search(rf"^executions: {CI_RUNS} ", done.stdout, re.M), done.stdout
    assert "findings: 0" in done.stdout


def test_mutations_are_reproducible_and_change_the_module(modules):
    import random

    files = corpus.read_module_files(modules.build("fv-conformant"))
    first = [Mutator(random.Random(seed)).mutate_files(files) for seed in range(20)]
    again = [Mutator(random.Random(seed)).mutate_files(files) for seed in range(20)]
    assert first == again
    assert sum(mutated != files for mutated in first) >= 18
    assert corpus.unpack(corpus.pack(first[0])) == first[0]


def test_the_oracle_flags_crashed_checks_and_unexpected_errors():
    """An oracle that never fires would pass any fuzz run."""
    crashed = Result(rule="SEC601", name="safe-ops", severity="error", status="error",
                     message="check crashed: KeyError: '' (at security.py:55)", spec="")
    with pytest.raises(Finding, match="check crashed"):
        judge(Report(module="m", results=(crashed,)))
    with pytest.raises(Finding, match="unexpected error"):
        judge(Report(module="m", error=ErrorInfo("usage", "--tags x: no such tag set")))
    judge(Report(module="m", error=ErrorInfo("read", "m/saved_model.pb: does not parse as a SavedModel")))


def static_check(directory: str):
    """The fuzz target's oracle on one module, without its time bound (speed lives in benchmarks/)."""
    report = check(directory, Config(static=True))
    render(report, FORMATS)
    judge(report)
    return report


# --- issue 17 items 1 and 4: Const values -------------------------------------


def _tensor(dims, dtype=1, **values):
    tensor = protos.NodeDef().attr["value"].tensor
    tensor.dtype = dtype
    for size in dims:
        tensor.tensor_shape.dim.add(size=size)
    for field, value in values.items():
        if field == "tensor_content":
            tensor.tensor_content = value
        else:
            getattr(tensor, field).extend(value)
    return tensor


@pytest.mark.parametrize("dims, problem", [
    ((2147483647, 17, -2**63, 1), "dimension 2 of its shape is -9223372036854775808"),
    ((-1,), "dimension 0 of its shape is -1"),
    ((2**62, 2**62), "more than 2^63-1 elements"),
    ((2**62,) * 65536, "65536 dimensions"),
    ((3, 0, 2**62, 2**62), None),  # zero elements: TensorFlow multiplies in order, 0 * anything stays 0
])
def test_const_shapes_tensorflow_refuses_are_problems_not_crashes(dims, problem):
    values, found = _const_values(_tensor(dims, float_val=[1.5]))
    if problem is None:
        assert (values, found) == ((), None)
    else:
        assert values is None and problem in found


def test_const_values_follow_tensorflow_fill_rules():
    assert _const_values(_tensor((4,), float_val=[1, 2]))[0] == (1, 2, 2, 2)  # repeat the last value
    assert _const_values(_tensor((2,), float_val=[1, 2, 3]))[0] == (1, 2)  # extra values are ignored
    assert _const_values(_tensor((), int_val=[7]))[0] == (7,)
    assert _const_values(_tensor((2,), dtype=3, tensor_content=b"\x01\0\0\0\x02\0\0\0"))[0] == (1, 2)
    assert "holds 7 bytes; its shape needs 8" in _const_values(_tensor((2,), dtype=3, tensor_content=b"\0" * 7))[1]
    assert _const_values(_tensor((1000,), float_val=[0.5])) == (None, None)  # too many to keep


@pytest.mark.parametrize("name, problem", [
    ("hub107-const-negative-dim", "a value's dimensions cannot be negative"),
    ("hub107-const-many-huge-dims", "shape has 65536 dimensions"),
    ("hub107-const-content-size", "tensor_content holds 3 bytes; its shape needs 4"),
])
def test_malformed_const_modules_are_judged_by_hub107(modules, name, problem):
    report = static_check(modules.build(name))
    hub107 = [r for r in report.results if r.rule == "HUB107"]
    assert hub107 and all(r.status == "fail" and problem in r.message for r in hub107)


def test_a_module_of_more_meta_graphs_than_tag_sets_can_mean_is_refused_in_one_line(modules):
    """Found by the fuzzer: 42 copies of a meta graph took 1.3 s (0.5 MB); 10,000 empty ones (100 KB)
    made 50,000 results and a minute of rendering.  More than 32 is a read error."""
    report = static_check(modules.build("too-many-meta-graphs"))
    assert report.error.type == "read" and "holds 41 meta graphs" in report.error.message
    assert not report.results


# --- issue 17 items 2 and 3: malformed graphs are judged (SEC601), not crashes ---


def test_an_empty_input_name_is_judged_not_crashed(modules):
    static_check(modules.build("graph-empty-input"))


@pytest.mark.parametrize("name", ["sec-root-named-caret", "sec-root-named-paren"])
def test_an_execution_root_with_an_odd_name_is_judged_not_crashed(modules, name):
    static_check(modules.build(name))
