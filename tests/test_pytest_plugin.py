"""The pytest plugin as a publisher uses it: real fixture modules, pytest in a subprocess.

Most runs are static (``sigcheck_static`` / ``--sigcheck-static``) so that no
inference runs; the expected outcomes come from the real CLI's JSON report.
The collection and scheduling tests also run under pytest-xdist (``-n 2``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tarfile

import pytest
from helpers import run_sigcheck

from sigcheck.rules import load_rules

pytest_plugins = ["pytester"]

STATIC_INI = "[pytest]\nsigcheck_modules = exports/*\nsigcheck_static = true\n"
NO_TRACEBACK = ("Traceback", "def ", "pytest_plugin.py", "SigcheckFailure", "SigcheckNotChecked")
RULES = [r.code for r in load_rules()]
XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]
# Tells, at the end of a run, what the run imported: collection must not check anything.
PROBE = """
import sys

def pytest_terminal_summary(terminalreporter):
    loaded = [m for m in ("sigcheck.api", "sigcheck.runtime.runner", "tensorflow") if m in sys.modules]
    terminalreporter.write_line("@@imported=" + ",".join(loaded))
"""


# A publisher's pytest loads every installed plugin: here hypothesis and pytest-benchmark too, ~1 CPU
# second per process.  These tests' pytest processes load only what they exercise, sigcheck's plugin
# (and xdist); test_inert_unless_asked proves that the pytest11 entry point alone registers it.
LEAN_PLUGINS = "-p sigcheck.pytest_plugin" + (
    " -p xdist.plugin -p xdist.looponfail" if importlib.util.find_spec("xdist") else "")


@pytest.fixture(autouse=True)
def lean_pytest(request, pytester, monkeypatch):  # after pytester, which clears PYTEST_ADDOPTS
    if request.node.originalname == "test_inert_unless_asked":
        return
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{os.environ.get('PYTEST_ADDOPTS', '')} {LEAN_PLUGINS}".strip())


@pytest.fixture(scope="module")
def built(modules) -> dict:
    """The fixture modules these tests use, built before any ``pytester`` exists:
    pytester drops the modules a test imports when it ends, and TensorFlow
    (numpy's C extension) cannot be imported a second time."""
    names = ("fv-conformant", "img302-uint8-input", "out405-train-output-dropout", "run503-batch-statistics",
             "pair-fv-perturbed-strongly")
    return {name: modules.build(name) for name in names}


@pytest.fixture(params=XDIST)
def xdist(request) -> list:
    if request.param:
        pytest.importorskip("xdist")
    return request.param


def export(pytester, built, *names):
    """Copy built fixture modules into the project's exports/, as a publisher would have them."""
    for name in names:
        shutil.copytree(built[name], pytester.path / "exports" / name)


def expected_outcomes(path, *args) -> dict:
    """rule -> pytest outcome, from the CLI's JSON report of the same module."""
    report = run_sigcheck("--format", "json", *args, path).json
    failing = ("fail", "warn") if report["fail_on"] == "warning" else ("fail",)
    statuses: dict = {}
    for result in report["results"]:
        statuses.setdefault(result["rule"], set()).add(result["status"])
    outcome = {}
    for rule, seen in statuses.items():
        outcome[rule] = ("error" if "error" in seen else "failed" if seen & set(failing)
                         else "skipped" if seen == {"skip"} else "passed")
    return outcome


def outcomes(lines, module_id) -> dict:
    """rule -> outcome from ``pytest -v`` lines (``exports/m/saved_model.pb::IMG302 PASSED``)."""
    found = {}
    for line in lines:
        head, _, rest = line.partition(" ")
        if head.startswith(module_id + "::") and rest.split(" ")[0] in ("PASSED", "FAILED", "SKIPPED", "ERROR"):
            found[head.split("::")[1]] = rest.split(" ")[0].lower()
    return found


def ids(result) -> list:
    return [line for line in result.stdout.lines if "::" in line and " " not in line]


def imported(result) -> list:
    line = next(line for line in result.stdout.lines if line.startswith("@@imported="))
    return [m for m in line.split("=", 1)[1].split(",") if m]


def test_one_item_per_rule_with_the_clis_outcome(pytester, built, xdist):
    export(pytester, built, "fv-conformant", "img302-uint8-input")
    pytester.makeini(STATIC_INI)
    result = pytester.runpytest_subprocess("-v", *xdist)
    for name in ("fv-conformant", "img302-uint8-input"):
        expected = expected_outcomes(pytester.path / "exports" / name, "--static")
        got = outcomes(result.stdout.lines if not xdist else _xdist_lines(result), f"exports/{name}/saved_model.pb")
        assert got == expected, name
    assert expected["IMG302"] == "failed" and len(expected) > 20
    assert "sigcheck: 2 module(s), static checks, config: defaults" in result.stdout.str()
    assert "sigcheck: 2 module check(s)" in result.stdout.str()  # once per module, whichever worker


def _xdist_lines(result) -> list:
    """``[gw0] [ 50%] PASSED exports/...::IMG302`` -> ``exports/...::IMG302 PASSED``."""
    lines = []
    for line in result.stdout.lines:
        parts = line.split()
        if len(parts) >= 2 and "::" in parts[-1] and parts[-2] in ("PASSED", "FAILED", "SKIPPED", "ERROR"):
            lines.append(f"{parts[-1]} {parts[-2]}")
    return lines


def test_violations_fail_with_the_finding_and_no_traceback(pytester, built):
    export(pytester, built, "img302-uint8-input", "out405-train-output-dropout")
    pytester.makeini(STATIC_INI)
    result = pytester.runpytest_subprocess("-v", "-rf")
    assert result.ret == 1
    assert result.parseoutcomes()["failed"] == 2
    out = result.stdout.str()
    for line in ("exports/img302-uint8-input/saved_model.pb::IMG302 FAILED",
                 "exports/out405-train-output-dropout/saved_model.pb::OUT405 FAILED",
                 "exports/out405-train-output-dropout/saved_model.pb::IMG302 PASSED",
                 "FAILED exports/img302-uint8-input/saved_model.pb::IMG302",
                 "rule:     IMG302 input-dtype: The image input is float32.",
                 "FAIL (error) at tags[]/signatures/default/inputs/images: 'images' is uint8",
                 "FAIL (error) at tags[]/signatures/image_feature_vector/inputs/images: 'images' is uint8",
                 "spec:     images#input  https://www.tensorflow.org/hub/common_signatures/images#input"):
        assert line in out, line
    for noise in NO_TRACEBACK:
        assert noise not in out, noise


def archive(built, name, target) -> str:
    """``name`` packed as a hub-hosted archive (files at the top level) at ``target``."""
    with tarfile.open(target, "w:gz") as tar:
        for entry in sorted(os.listdir(built[name])):
            tar.add(os.path.join(built[name], entry), arcname=entry)
    return str(target)


def test_skipped_rules_skip_with_the_reason_at_the_module(pytester, built):
    archive(built, "fv-conformant", pytester.path / "fv.tar.gz")
    expected = expected_outcomes(pytester.path / "fv.tar.gz", "--static")
    result = pytester.runpytest_subprocess("--sigcheck", "fv.tar.gz", "--sigcheck-static", "-rs")
    counts = {o: list(expected.values()).count(o) for o in ("passed", "skipped")}
    assert counts["skipped"] > 3
    result.assert_outcomes(**counts)
    skips = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert any(line.startswith("SKIPPED [") and "fv.tar.gz: runtime checks not run (sigcheck_static / "
               "--sigcheck-static)" in line for line in skips), skips
    assert not any("--static)" in line or "pytest_plugin" in line for line in skips)


def test_warning_results_pass_with_a_sigcheck_warning(pytester, built):
    export(pytester, built, "img302-uint8-input")
    project = ('[tool.pytest.ini_options]\nsigcheck_modules = ["exports/*"]\nsigcheck_static = true\n'
               '[tool.sigcheck]\nseverity = {{ IMG302 = "warning" }}\n{}')
    pytester.makepyprojecttoml(project.format(""))
    result = pytester.runpytest_subprocess("-v")
    assert result.ret == 0
    assert result.parseoutcomes()["warnings"] == 2
    out = result.stdout.str()
    assert "exports/img302-uint8-input/saved_model.pb::IMG302 PASSED" in out
    assert "SigcheckWarning: IMG302 input-dtype [default]: 'images' is uint8" in out
    pytester.makepyprojecttoml(project.format('fail_on = "warning"\n'))
    strict = pytester.runpytest_subprocess("-v")
    assert strict.parseoutcomes()["failed"] == 1
    assert "WARN (warning) at tags[]/signatures/default/inputs/images" in strict.stdout.str()


def test_an_unreadable_module_errors_every_item_and_says_why(pytester):
    (pytester.path / "exports" / "empty").mkdir(parents=True)
    pytester.makeini("[pytest]\nsigcheck_static = true\nsigcheck_select = HUB101 IMG302\n"
                     "sigcheck_modules =\n    exports/*\n    missing/*\n")
    result = pytester.runpytest_subprocess("-v", "-rE")
    result.assert_outcomes(errors=4)
    out = result.stdout.str()
    assert "exports/empty/saved_model.pb::HUB101 ERROR" in out and "missing/*::IMG302 ERROR" in out
    assert "no saved_model.pb" in out and "no such file or directory" in out
    assert "the module could not be read (read error), so no rule ran" in out
    for noise in NO_TRACEBACK:
        assert noise not in out, noise


def test_a_check_that_could_not_complete_is_an_error_with_pytest_words(pytester, built):
    export(pytester, built, "fv-conformant")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nsigcheck_modules = "exports/*"\n'
                               'sigcheck_select = "HUB101 RUN501 OUT407"\n[tool.sigcheck]\ntimeout = 0.01\n')
    collected = ids(pytester.runpytest_subprocess("--co", "-q"))
    result = pytester.runpytest_subprocess("-v", "-rE")
    result.assert_outcomes(passed=1, errors=2)
    out = result.stdout.str()
    for rule in ("RUN501", "OUT407"):
        assert f"exports/fv-conformant/saved_model.pb::{rule} ERROR" in out
    assert "raise it with timeout in [tool.sigcheck]" in out and "--timeout" not in out
    assert collected == ["exports/fv-conformant/saved_model.pb::" + r for r in ("HUB101", "OUT407", "RUN501")]


def test_inert_unless_asked(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    pytester.makepyprojecttoml("[tool.sigcheck]\nno-such-key = 1\n")
    assert "--sigcheck=PATH" in pytester.runpytest_subprocess("--help").stdout.str(), "plugin not loaded"
    plain = pytester.runpytest_subprocess("--collect-only", "-q")
    assert ids(plain) == ["test_plain.py::test_one"]
    assert "sigcheck" not in plain.stdout.str()
    assert "sigcheck:" not in pytester.runpytest_subprocess("--markers").stdout.str()
    asked = pytester.runpytest_subprocess("--sigcheck=anything")
    assert asked.ret == 4 and "sigcheck: " in asked.stderr.str() and "'no-such-key'" in asked.stderr.str()


def test_collection_checks_nothing_and_deselected_modules_are_never_checked(pytester, built, xdist):
    export(pytester, built, "fv-conformant", "img302-uint8-input")
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    pytester.makeini("[pytest]\nsigcheck_modules = exports/*\n")  # full checks: inference if anything runs
    collected = pytester.runpytest_subprocess("--collect-only", "-q", *xdist)
    assert len(ids(collected)) == 2 * len(RULES) + 1 or xdist  # xdist prints no ids here
    assert imported(collected) == []
    for deselect in (["-m", "not sigcheck"], ["-k", "test_one"]):
        result = pytester.runpytest_subprocess("-q", *deselect, *xdist)
        assert result.ret == 0, deselect
        assert imported(result) == [], deselect
        assert "module check(s)" not in result.stdout.str()
    # One module deselected by name: only the other is checked, and only SEC601 was selected,
    # so that module is checked statically (test_full_mode_* runs the inference).
    static_only = pytester.runpytest_subprocess("-q", "-k", "SEC601 and not img302", *xdist)
    static_only.assert_outcomes(passed=1)
    assert "sigcheck: 1 module check(s)" in static_only.stdout.str()
    assert "sigcheck.runtime.runner" not in imported(static_only)  # only SEC601 ran: no inference process


def test_ids_paste_back_and_select_exactly_that_item(pytester, built):
    export(pytester, built, "fv-conformant")
    archive(built, "fv-conformant", pytester.path / "exports" / "half_plus_two_v1.tar.gz")
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    pytester.makeini("[pytest]\nsigcheck_static = true\nsigcheck_modules = exports/fv-conformant\n"
                     "    exports/half_plus_two_v1.tar.gz\n")
    verbose = pytester.runpytest_subprocess("-v")
    printed = [line.split(" ")[0] for line in verbose.stdout.lines if "::" in line and " PASSED" in line]
    assert "exports/fv-conformant/saved_model.pb::IMG302" in printed
    assert "exports/half_plus_two_v1.tar.gz::HUB101" in printed
    for node_id in ("exports/fv-conformant/saved_model.pb::IMG302", "exports/half_plus_two_v1.tar.gz::HUB101",
                    "exports/fv-conformant/saved_model.pb::SEC601"):
        pasted = pytester.runpytest_subprocess(node_id, "-v")
        assert [line.split(" ")[0] for line in pasted.stdout.lines if "::" in line and "PASSED" in line] \
            == [node_id], node_id
    whole = pytester.runpytest_subprocess("exports/fv-conformant", "--co", "-q")
    assert len(ids(whole)) == len(RULES) and all(i.startswith("exports/fv-conformant/saved_model.pb::") for i in ids(whole))
    picked = pytester.runpytest_subprocess("-k", "IMG302 and fv-conformant", "--co", "-q")
    assert ids(picked) == ["exports/fv-conformant/saved_model.pb::IMG302"]
    narrowed = pytester.runpytest_subprocess("test_plain.py", "--co", "-q")
    assert ids(narrowed) == ["test_plain.py::test_one"]


@pytest.mark.parametrize("option", ["--lf", "--ff"])
def test_last_failed_reruns_exactly_the_failures(pytester, built, option):
    export(pytester, built, "fv-conformant", "img302-uint8-input", "out405-train-output-dropout")
    pytester.makeini(STATIC_INI)
    first = pytester.runpytest_subprocess("-p", "cacheprovider", "-q")
    assert first.parseoutcomes()["failed"] == 2
    again = pytester.runpytest_subprocess("-p", "cacheprovider", option, "-v")
    failed = sorted(line.split(" ")[0] for line in again.stdout.lines if line.endswith("]") and " FAILED " in line)
    assert failed == ["exports/img302-uint8-input/saved_model.pb::IMG302",
                      "exports/out405-train-output-dropout/saved_model.pb::OUT405"]
    if option == "--lf":
        again.assert_outcomes(failed=2)
        assert "rerun previous 2 failures" in again.stdout.str()
    else:
        assert [line for line in again.stdout.lines if "::" in line][:2] == [
            line for line in again.stdout.lines if " FAILED " in line and line.endswith("]")]


def test_module_lists_are_whitespace_separated_like_testpaths(pytester, built):
    export(pytester, built, "fv-conformant", "img302-uint8-input")
    pytester.makeini("[pytest]\nsigcheck_static = true\nsigcheck_select = IMG302, HUB101\n"
                     "sigcheck_modules = exports/fv-conformant exports/img302-uint8-input\n")
    assert ids(pytester.runpytest_subprocess("--co", "-q")) == [
        f"exports/{m}/saved_model.pb::{r}" for m in ("fv-conformant", "img302-uint8-input") for r in ("HUB101", "IMG302")]


def test_report_fixture_and_assert_conforms(pytester, built):
    good, bad = built["fv-conformant"], built["img302-uint8-input"]
    pytester.makepyfile(test_custom=f"""
        from sigcheck.pytest_plugin import assert_conforms

        def test_conformant(sigcheck_report):
            report = sigcheck_report({good!r}, static=True)
            assert report.verdict == "pass"
            assert sigcheck_report({good!r}, static=True) is report
            assert assert_conforms(report) is not None

        def test_violator():
            assert_conforms({bad!r}, static=True, select=["IMG"])
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert f"{bad} does not conform (2 failing result(s), fail-on error):" in out
    assert "FAIL IMG302 input-dtype [default]: 'images' is uint8" in out
    assert "FAIL IMG302 input-dtype [image_feature_vector]: 'images' is uint8" in out


def test_full_mode_checks_each_module_once_across_workers(pytester, built, xdist):
    export(pytester, built, "fv-conformant", "run503-batch-statistics")
    pytester.makeini("[pytest]\nsigcheck_modules = exports/*\n")
    result = pytester.runpytest_subprocess("-v", "-rf", *xdist)
    assert result.ret == 1
    out = result.stdout.str()
    lines = _xdist_lines(result) if xdist else result.stdout.lines
    assert "exports/fv-conformant/saved_model.pb::RUN503 PASSED" in "\n".join(lines)
    assert "exports/run503-batch-statistics/saved_model.pb::RUN503 FAILED" in "\n".join(lines)
    assert "exports/run503-batch-statistics/saved_model.pb::RUN501 PASSED" in "\n".join(lines)
    assert "depends on the other images in the batch" in out
    assert result.parseoutcomes()["failed"] == 1
    assert "sigcheck: 2 module check(s)" in out


def test_sigcheck_option_with_a_space_keeps_the_projects_rootdir_and_config(pytester, built):
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\nsigcheck_static = true\nsigcheck_select = IMG302\n")
    outside = built["img302-uint8-input"]
    for form in (["--sigcheck", outside], [f"--sigcheck={outside}"]):
        result = pytester.runpytest_subprocess(*form, "-v")
        out = result.stdout.str()
        assert f"rootdir: {pytester.path}" in out and "configfile: tox.ini" in out, form
        assert [line.split(" ")[0] for line in result.stdout.lines if " FAILED" in line and "::" in line][:1] == [
            f"{outside}/saved_model.pb::IMG302"], form  # only IMG302: the project's sigcheck_select applies
        result.assert_outcomes(failed=1)
        assert not (pytester.path / ".pytest_cache").exists()  # the project's addopts applied too


def test_the_result_cache_of_the_config_serves_a_second_session(pytester, built):
    export(pytester, built, "fv-conformant")
    pytester.makeini(STATIC_INI)
    pytester.makepyprojecttoml('[tool.sigcheck]\ncache = ".sigcheck-cache"\n')
    first = pytester.runpytest_subprocess("-v")
    [entry] = (pytester.path / ".sigcheck-cache").glob("*/*.json")
    passed = first.parseoutcomes()["passed"]
    # A hit is the stored report: fail one of its results to see the second session use it.
    stored = json.loads(entry.read_text())
    target = next(r for r in stored["report"]["results"] if r["rule"] == "IMG302" and r["status"] == "pass")
    target.update(status="fail", message="failed in the cache")
    stored["report"]["verdict"] = "fail"
    stored["report"]["summary"]["pass"] -= 1
    stored["report"]["summary"]["fail"] += 1
    entry.write_text(json.dumps(stored))
    second = pytester.runpytest_subprocess("-v", "-rf")
    assert second.parseoutcomes()["passed"] == passed - 1
    assert "failed in the cache" in second.stdout.str()


def test_golden_in_the_config_compares_with_golden_outputs(pytester, built):
    """[tool.sigcheck] golden = "DIR": RUN506 fails a module whose outputs drifted, naming the worst element."""
    assert run_sigcheck("snapshot", built["fv-conformant"], "--out", pytester.path / "golden").returncode == 0
    export(pytester, built, "fv-conformant", "pair-fv-perturbed-strongly")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nsigcheck_modules = "exports/*"\n'
                               'sigcheck_select = "RUN506"\n[tool.sigcheck]\ngolden = "golden"\n')
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "exports/fv-conformant/saved_model.pb::RUN506 PASSED" in out
    assert "exports/pair-fv-perturbed-strongly/saved_model.pb::RUN506 FAILED" in out
    assert "differs from the golden output" in out and "worst:" in out
