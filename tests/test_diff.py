"""sigcheck diff and golden outputs on real module pairs (fixtures/pairs.py), run by real TensorFlow.

One worker (one TensorFlow import) serves every in-process diff and snapshot
here; the CLI is run as a subprocess only for its exit codes and formats."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from helpers import run_sigcheck, run_sigcheck_inprocess
from sigcheck.config import Config
from sigcheck.diffing import diff
from sigcheck.diffing.golden import snapshot
from sigcheck.diffing.run import CannotRun
from sigcheck.facts.golden import GoldenError, read_golden
from sigcheck.fixtures.pairs import PAIRS

pytestmark = pytest.mark.runtime

BY_NAME = {p.name: p for p in PAIRS}
STATIC = Config(static=True)


@pytest.fixture(scope="module")
def worker(modules):
    from sigcheck.runtime.runner import sandboxed_worker

    with sandboxed_worker(Config().worker_limits(1), read_roots=[modules.root]) as shared:
        yield shared


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.verdict in ("breaking", "compatible")], ids=lambda p: p.name)
def test_interface_pairs_get_their_classification(pair, modules):
    report = diff(modules.build(pair.old), modules.build(pair.new), STATIC)
    assert report.verdict == pair.verdict, [d.reason for d in report.differences]
    found = {d.kind for d in report.differences}
    assert set(pair.kinds) <= found, found
    assert not report.behaviour.ran


@pytest.mark.parametrize("name", ["same", "perturbed-slightly", "perturbed-strongly", "range-255"])
def test_behaviour_pairs_run_both_modules_and_compare(name, modules, worker):
    pair = BY_NAME[name]
    report = diff(modules.build(pair.old), modules.build(pair.new), Config(), worker=worker)
    assert report.differences == () and report.behaviour.ran
    assert report.verdict == pair.verdict, report.behaviour.findings
    default = next(o for o in report.behaviour.outputs if (o.signature, o.key) == ("image_feature_vector", "default"))
    assert len(report.behaviour.images) == 8 and "cosine_min" in default.metrics
    if pair.verdict == "same":
        assert default.metrics["cosine_min"] > 0.999
    else:
        assert report.exit_code == 1 and any("default" in f for f in default.findings)


def test_cli_diff_formats_and_exit_codes(modules, tmp_path):
    old, new = modules.build("fv-conformant"), modules.build("pair-fv-div255")
    run = run_sigcheck("diff", old, new, "--format", "json")
    assert run.returncode == 1, run.stderr
    assert run.json["schema"] == "sigcheck-diff/1" and run.json["verdict"] == "behaviour-changed"
    markdown = run_sigcheck_inprocess("diff", old, modules.build("pair-fv-no-extra-output"), "--static", "--format", "markdown")
    assert markdown.returncode == 1 and "| breaking |" in markdown.stdout and "output 'TinyNet/conv1' removed" in markdown.stdout
    none_shared = run_sigcheck_inprocess("diff", old, modules.build("ported-multi-signature"), "--static")
    assert none_shared.returncode == 6 and none_shared.error_lines[0].startswith("sigcheck: error: the modules have no")
    missing = run_sigcheck_inprocess("diff", old, str(tmp_path / "nope"), "--static")
    assert missing.returncode == 2 and len(missing.error_lines) == 1


@pytest.fixture(scope="module")
def golden(modules, worker, tmp_path_factory):
    out = tmp_path_factory.mktemp("golden") / "fv"
    snapshot(modules.build("fv-conformant"), str(out), Config(), worker=worker)
    return str(out)


def _tree(directory) -> dict:
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                found[os.path.relpath(os.path.join(root, name), directory)] = f.read()
    return found


def test_a_snapshot_is_complete_and_byte_for_byte_deterministic(golden, modules, worker, tmp_path):
    again = tmp_path / "again"
    snapshot(modules.build("fv-conformant"), str(again), Config(), worker=worker)
    assert _tree(golden) == _tree(again)
    manifest = json.loads(_tree(golden)["manifest.json"])
    assert manifest["schema"] == "sigcheck-golden/1" and manifest["seed"] and len(manifest["images"]) == 8
    assert {(o["signature"], o["key"]) for o in manifest["outputs"]} >= {("default", "default"),
                                                                         ("image_feature_vector", "TinyNet/conv1")}
    assert all(o["rtol"] == 1e-3 and o["atol"] == 1e-5 for o in manifest["outputs"])
    assert len(read_golden(golden).outputs) == len(manifest["outputs"])


def _golden_results(handle, golden, worker):
    from sigcheck.api import check

    report = check(handle, Config(golden=golden, select=("RUN506",)), worker=worker)
    return [r for r in report.results if r.rule == "RUN506"]


def test_golden_rule_passes_the_same_module_and_fails_drifted_weights(golden, modules, worker):
    same = _golden_results(modules.build("fv-conformant"), golden, worker)
    assert same and all(r.status == "pass" for r in same)
    slight = _golden_results(modules.build("pair-fv-perturbed-slightly"), golden, worker)
    assert all(r.status == "pass" for r in slight)  # within rtol 1e-3
    drifted = _golden_results(modules.build("pair-fv-perturbed-strongly"), golden, worker)
    failed = [r for r in drifted if r.status == "fail"]
    assert failed and "worst:" in failed[0].message and "golden" in failed[0].message
    assert any(label in failed[0].message for label in ("black", "white", "noise", "gradient", "checkerboard", "ramps"))


def test_golden_rule_is_skipped_without_a_golden_directory(modules, worker):
    from sigcheck.api import check

    report = check(modules.build("fv-conformant"), select=["RUN506"], worker=worker)
    assert [r.status for r in report.results] == ["skip"] and "--golden" in report.results[0].message


def _damaged(golden, tmp_path, how) -> str:
    copy = tmp_path / "damaged"
    shutil.copytree(golden, copy)
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    first = copy / manifest["outputs"][0]["file"]
    if how == "missing":
        first.unlink()
    elif how == "truncated":
        first.write_bytes(first.read_bytes()[:-7])
    elif how == "newer":
        manifest["schema"] = "sigcheck-golden/2"
    elif how == "nan":
        import numpy as np
        from sigcheck.facts.golden import sha256_file

        values = np.load(first)
        values.flat[0] = np.nan
        np.save(first, values)
        manifest["outputs"][0]["sha256"] = sha256_file(str(first))
    manifest_path.write_text(json.dumps(manifest))
    return str(copy)


@pytest.mark.parametrize("how, words", [("missing", "is missing"), ("truncated", "SHA-256"),
                                        ("newer", "newer"), ("nan", "NaN")])
def test_an_unusable_golden_directory_is_a_one_line_error(how, words, golden, tmp_path):
    with pytest.raises(GoldenError) as raised:
        read_golden(_damaged(golden, tmp_path, how))
    assert words in str(raised.value) and raised.value.exit_code == 5 and "\n" not in str(raised.value)


def test_cli_golden_from_another_interface_exits_5(golden, modules):
    run = run_sigcheck(modules.build("pair-fv-n24"), "--golden", golden, "--select", "RUN506")
    assert run.returncode == 5, run.stderr
    assert len(run.error_lines) == 1 and "different interface" in run.error_lines[0]


def test_a_module_that_cannot_run_writes_no_snapshot(modules, worker, tmp_path):
    out = tmp_path / "unsafe"
    with pytest.raises(CannotRun) as raised:
        snapshot(modules.build("sec601-write-file"), str(out), Config(), worker=worker)
    assert raised.value.exit_code == 7 and "cannot be run" in str(raised.value)
    assert not out.exists() and os.listdir(tmp_path) == []
