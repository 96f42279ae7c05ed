"""Real inference on every fixture: runtime verdicts, isolation, safety.

One `sigcheck --format json` run checks every fixture module in full mode
(two worker processes, one TensorFlow import each), and every rule's verdict
is compared with the recipe's expectations.  The hanging, crashing and
file-writing fixtures are run on their own.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time

import pytest

from helpers import assert_snapshot, normalised_report, rule_verdicts, run_sigcheck, stale_snapshots
import sigcheck.fixtures
from sigcheck.rules import load_rules

pytestmark = pytest.mark.runtime

CATALOG = sigcheck.fixtures.catalog
RECIPES = sigcheck.fixtures.RECIPES
RULES = load_rules()
BATCHED = [r for r in RECIPES if not r.run_args]
# the TF1 text module and one conformant TF2 model per text API (embedding, preprocessor, encoder)
TEXT_CONFORMANT = ("text-conformant", "tf2-text-embedding", "tf2-text-preprocessor", "tf2-text-encoder")
CONFORMANT = ("fv-conformant", "classifier-conformant", "fv-no-image-info", "tf2-fv-conformant",
              "tf2-classifier-conformant")


@pytest.fixture(scope="module")
def full_run(modules, once_per_run):
    """The one full run of every batched fixture (stderr not a tty), shared by xdist workers."""
    return once_per_run("full-run", lambda: run_sigcheck(
        "--format", "json", "--jobs", "2", *[modules.build(r.name) for r in BATCHED]))


@pytest.fixture(scope="module")
def full_reports(modules, full_run):
    paths = [modules.build(r.name) for r in BATCHED]
    run = full_run
    assert run.returncode == 1, run.stderr  # the violators fail
    document = run.json
    assert document["schema"] == "sigcheck-reports/1" and len(document["reports"]) == len(paths)
    return {recipe.name: report for recipe, report in zip(BATCHED, document["reports"])}


@pytest.mark.parametrize("recipe", BATCHED, ids=lambda r: r.name)
def test_full_verdicts_match_the_recipe(recipe, full_reports):
    report = full_reports[recipe.name]
    assert rule_verdicts(report) == CATALOG.expected_verdicts(recipe, RULES, static=False)


RUNTIME_USERS = [r for r in RULES if r.uses_runtime]  # runtime rules and static rules with a runtime half
# RUN506 compares with golden outputs, which a plain run does not have (it skips): tests/test_golden.py
# runs it on real modules with and without a matching golden directory.
NEEDS_GOLDEN = ("RUN506",)


@pytest.mark.parametrize("rule", RUNTIME_USERS, ids=lambda r: r.code)
def test_each_runtime_rule_passes_conformant_and_fails_its_violators(rule, full_reports):
    code = rule.code
    if code in NEEDS_GOLDEN:
        pytest.skip("judged against golden outputs: tests/test_golden.py")
    violated = "fail" if rule.severity == "error" else "warn"
    violators = [r for r in BATCHED if code in r.violates
                 and CATALOG.expected_verdicts(r, RULES, static=False)[code] == violated]
    assert violators, f"{code} has no failing fixture"
    passing = []
    for name in (TEXT_CONFORMANT if rule.scope == "text" else CONFORMANT):
        expected = CATALOG.expected_verdicts(CATALOG.recipe(name), RULES, static=False)[code]
        assert expected in ("pass", "skip") and rule_verdicts(full_reports[name])[code] == expected, name
        passing += [name] if expected == "pass" else []
    assert passing, f"{code} passes no conformant fixture"
    for recipe in violators:
        assert any(r["status"] == violated for r in full_reports[recipe.name]["results"] if r["rule"] == code)


@pytest.mark.parametrize("recipe", BATCHED, ids=lambda r: r.name)
def test_full_report_matches_its_snapshot(recipe, full_reports, modules, update_snapshots):
    """The whole JSON report of a full run; measured figures are masked (they follow the CPU)."""
    measured = {r.code for r in RUNTIME_USERS}
    report = normalised_report(full_reports[recipe.name], modules.root, measured)
    assert_snapshot(f"full/{recipe.name}", report, update_snapshots)


def test_every_full_snapshot_belongs_to_a_fixture():
    assert not stale_snapshots("full", [r.name for r in BATCHED])


def _messages(report, code, status):
    return [r["message"] for r in report["results"] if r["rule"] == code and r["status"] == status]


def test_runtime_messages_explain_what_was_seen(full_reports):
    assert any("black" in m for m in _messages(full_reports["run502-inf-on-black"], "RUN502", "fail"))
    assert any("batch statistics" in m for m in _messages(full_reports["run503-batch-statistics"], "RUN503", "fail"))
    assert any("randomness" in m for m in _messages(full_reports["run504-random-noise"], "RUN504", "fail"))
    assert any("same 'default' output" in m for m in _messages(full_reports["run505-constant-output"], "RUN505",
                                                                   "fail"))
    assert any("declared [?, 4, 4, 8]" in m for m in _messages(full_reports["run501-declared-shape-lies"], "RUN501",
                                                                 "fail"))
    assert any("Cannot feed value" in m or "B=2" in m for m in _messages(full_reports["img304-fixed-batch"],
                                                                        "RUN501", "fail"))
    assert any("[3, 3, 8, 12] in the graph but [3, 3, 8, 16]" in m
               for m in _messages(full_reports["hub105-mismatched-variables"], "HUB105", "fail"))
    assert any("softmax" in m for m in _messages(full_reports["out407-softmax"], "OUT407", "warn"))
    range_warning = _messages(full_reports["img307-div255"], "IMG307", "warn")
    assert any("static:" in m and "runtime:" in m and "at [0, 255]" in m for m in range_warning)
    huge = [r for r in full_reports["img305-huge-size"]["results"] if r["rule"] == "RUN501"]
    assert all(r["status"] == "error" and "refused" in r["message"] and "GiB" in r["message"] for r in huge)


def test_out405_reports_which_half_found_the_dropout(full_reports):
    both = [r for r in full_reports["out405-train-output-dropout"]["results"]
            if r["rule"] == "OUT405" and r["status"] == "fail"]
    assert [r["evidence"] for r in both] == ["static trace and dynamic runs"] and both[0]["tags"] == ["train"]
    hidden = [r for r in full_reports["out405-hidden-train-dropout"]["results"]
              if r["rule"] == "OUT405" and r["status"] == "fail"]
    assert [r["evidence"] for r in hidden] == ["dynamic runs"]
    assert "either 0 or one fixed value" in hidden[0]["message"]
    inner = [r for r in full_reports["fv-conformant"]["results"] if r["rule"] == "OUT405" and r["tags"] == ["train"]]
    assert inner[0]["status"] == "pass" and "change across 4 runs" in inner[0]["message"]


def test_unsafe_module_is_never_executed_unless_allowed(modules, tmp_path):
    recipe = CATALOG.recipe("sec601-write-file")
    # its own copy: the run allowed below writes the marker, which other tests must never see
    path = sigcheck.fixtures.build(recipe.name, str(tmp_path / recipe.name), workspace=modules)
    marker = CATALOG.marker_path(path)
    run = run_sigcheck("--format", "json", path)
    assert run.returncode == 1
    runtime = [r for r in run.json["results"] if r["rule"] in CATALOG.GATED_RUNTIME_RULES]
    assert runtime and all(r["status"] == "skip" and "--allow-unsafe-ops" in r["message"] for r in runtime)
    assert not os.path.exists(marker), "sigcheck executed a graph SEC601 flags"
    # The fixture is real: allowed to run outside the sandbox (test_sandbox.py), it writes the marker.
    allowed = run_sigcheck("--format", "json", "--allow-unsafe-ops", path, env={"SIGCHECK_NO_SANDBOX": "1"})
    try:
        assert os.path.exists(marker)
        assert rule_verdicts(allowed.json)["RUN501"] == "pass"
    finally:
        if os.path.exists(marker):
            os.remove(marker)


def test_a_crashing_module_gives_error_results_and_the_report_still_renders(modules, tmp_path):
    path = modules.build("sec601-abort")
    # one run, two reports: the JSON one to a file, the terminal one to stdout
    run = run_sigcheck("--report", f"json:{tmp_path / 'r.json'}", "--report", "rich", "--allow-unsafe-ops", path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert {r["rule"] for r in errors} == set(CATALOG.IMAGE_RUNTIME_RULES)
    assert all("SIGABRT" in r["message"] for r in errors)
    assert "ERROR" in run.stdout and run.stdout.rstrip().splitlines()[-1].startswith("FAIL")


def test_a_crash_is_isolated_to_its_module(modules):
    crash, fine = modules.build("sec601-abort"), modules.build("classifier-conformant")
    run = run_sigcheck("--format", "json", "--allow-unsafe-ops", "--jobs", "1", crash, fine)
    reports = run.json["reports"]
    assert rule_verdicts(reports[0])["RUN501"] == "error"
    assert reports[1]["verdict"] == "pass"  # the same job started a fresh worker for it


def test_a_hanging_module_times_out(modules):
    recipe = CATALOG.recipe("run-hangs")
    started = time.monotonic()
    run = run_sigcheck("--format", "json", *recipe.run_args, modules.build(recipe.name))
    assert time.monotonic() - started < 90
    assert run.returncode == 4 and run.json["verdict"] == "incomplete"  # could not check, not "violates"
    assert rule_verdicts(run.json) == CATALOG.expected_verdicts(recipe, RULES, static=False)
    assert any("timeout of 10s" in r["message"] for r in run.json["results"] if r["status"] == "error")


def test_batch_sizes_are_configurable(modules):
    run = run_sigcheck("--format", "json", "--batch-sizes", "3,1", "--select", "RUN501",
                       modules.build("fv-conformant"))
    assert run.returncode == 0
    assert all("B=3, 1" in r["message"] for r in run.json["results"])
    bad = run_sigcheck("--batch-sizes", "0", modules.build("fv-conformant"))
    assert bad.returncode == 2 and "outside 1..4096" in bad.error_lines[0]


def test_half_plus_two_loads_and_restores_in_full_mode(shared_data):
    run = run_sigcheck("--format", "json", shared_data / "half_plus_two_v1.tar.gz")
    assert run.returncode == 0 and run.json["verdict"] == "not-applicable"
    hub105 = [r for r in run.json["results"] if r["rule"] == "HUB105"]
    assert [r["status"] for r in hub105] == ["pass"] and "restored 2 variable(s)" in hub105[0]["message"]


def _stderr_on_a_tty(*args) -> bytes:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "sigcheck", *args], stdout=subprocess.DEVNULL, stderr=follower,
                            cwd="/", env={**os.environ, "COLUMNS": "120"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait() == 0
    return seen


def test_progress_is_shown_on_a_tty_and_not_otherwise(modules, full_run):
    path = modules.build("fv-conformant")
    assert "loading tag set" not in full_run.stderr and "importing TensorFlow" not in full_run.stderr
    shown = _stderr_on_a_tty("--select", "RUN501", path)
    assert b"importing TensorFlow" in shown or b"loading tag set" in shown
    quiet = _stderr_on_a_tty("-q", "--select", "RUN501", path)
    assert b"importing TensorFlow" not in quiet and b"loading tag set" not in quiet
