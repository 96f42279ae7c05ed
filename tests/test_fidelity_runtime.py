"""The runtime half agrees with how hub.Module loads: variables it would not restore,
and module paths that are not valid UTF-8."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from helpers import rule_verdicts, run_sigcheck
from sigcheck.config import Config
from sigcheck.facts.reader import read_module
from sigcheck.runtime.plan import make_plan
from sigcheck.runtime.runner import Worker

pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def observe(modules):
    """``observe(path)``: the runtime half's observations of one module, all from one worker
    (one TensorFlow import for the tests of this file, not one per test)."""
    with Worker(read_roots=[modules.root]) as worker:
        def run(path: str):
            plan = make_plan(read_module(path), path, batch_sizes=(1,), dropout_runs=1, max_batch_bytes=1 << 30)
            return worker.run(plan, timeout=Config().timeout)

        yield run


def test_runtime_half_finds_variables_outside_global_variables(modules, observe):
    """hub.Module restores only GLOBAL_VARIABLES: the loader must not report 'no variables'."""
    observations = observe(modules.build("hub105-variables-not-global-with-checkpoint"))
    for run in observations.tag_sets:
        assert run.variables == 4, run
        assert "not in GLOBAL_VARIABLES" in run.variables_error and "TinyNet/conv1/weights" in run.variables_error
        assert not run.probes  # nothing ran on uninitialised values


def test_runtime_half_counts_the_variables_it_restores(modules, observe):
    observations = observe(modules.build("fv-conformant"))
    assert [(run.variables, run.variables_error) for run in observations.tag_sets] == [(4, None), (4, None)]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_module_path_that_is_not_utf8_runs_in_full(modules, tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/m\xff\xfeodule"
    path = os.fsdecode(raw)  # surrogate escapes: subprocess passes the exact bytes on
    shutil.copytree(modules.build("fv-conformant"), path)
    run = run_sigcheck("--format", "json", path)
    assert run.returncode == 0, run.stdout[-2000:]
    verdicts = rule_verdicts(run.json)
    assert verdicts["RUN501"] == "pass" and verdicts["HUB105"] == "pass"
    assert run.json["module"] == path
