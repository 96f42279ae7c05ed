"""The pytest plugin as a publisher uses it: real fixture modules, pytest in a subprocess.

Runs are static (``sigcheck_static`` / ``--sigcheck-static``) so that no
inference runs, except one that shows runtime results becoming items; the
expected counts come from the real CLI's JSON report.
"""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import run_sigcheck
from sigcheck.pytest_plugin import _names
from sigcheck.results import Result

pytest_plugins = ["pytester"]

STATIC_INI = "[pytest]\nsigcheck_modules = exports/*\nsigcheck_static = true\n"
NO_TRACEBACK = ("Traceback", "def ", "pytest_plugin.py", "SigcheckFailure")


@pytest.fixture(scope="module")
def built(modules) -> dict:
    """The fixture modules these tests use, built before any ``pytester`` exists:
    pytester drops the modules a test imports when it ends, and TensorFlow
    (numpy's C extension) cannot be imported a second time."""
    names = ("fv-conformant", "img302-uint8-input", "out405-train-output-dropout", "run503-batch-statistics")
    return {name: modules.build(name) for name in names}


def export(pytester, built, *names):
    """Copy built fixture modules into the project's exports/, as a publisher would have them."""
    for name in names:
        shutil.copytree(built[name], pytester.path / "exports" / name)


def static_report(path) -> dict:
    return run_sigcheck("--static", "--format", "json", path).json


def test_conformant_module_is_one_passing_item_per_result(pytester, built):
    export(pytester, built, "fv-conformant")
    pytester.makeini(STATIC_INI)
    expected = static_report(pytester.path / "exports" / "fv-conformant")["summary"]
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=expected["pass"], skipped=expected["skip"])
    assert expected["fail"] == expected["warn"] == expected["error"] == 0 and expected["pass"] > 20
    out = result.stdout.str()
    assert "exports/fv-conformant::IMG302[image_feature_vector] PASSED" in out
    assert "sigcheck: 1 module(s), static checks, config: defaults" in out


def test_violations_fail_with_the_finding_and_no_traceback(pytester, built):
    export(pytester, built, "img302-uint8-input", "out405-train-output-dropout")
    pytester.makeini(STATIC_INI)
    result = pytester.runpytest_subprocess("-v", "-rf")
    assert result.ret == 1
    assert result.parseoutcomes()["failed"] == 3
    out = result.stdout.str()
    for line in ("exports/img302-uint8-input::IMG302[default] FAILED",
                 "exports/img302-uint8-input::IMG302[image_feature_vector] FAILED",
                 "exports/out405-train-output-dropout::OUT405[{train}] FAILED",
                 "exports/out405-train-output-dropout::OUT405[{}] PASSED",
                 "FAILED exports/img302-uint8-input::IMG302[default] - 'images' is uint8",
                 "rule:     IMG302 input-dtype: The image input is float32.",
                 "where:    tags[]/signatures/default/inputs/images",
                 "spec:     images#input  https://www.tensorflow.org/hub/common_signatures/images#input"):
        assert line in out, line
    for noise in NO_TRACEBACK:
        assert noise not in out, noise


def test_skipped_results_are_skips_with_the_reason(pytester, shared_data):
    shutil.copy(shared_data / "half_plus_two_v1.tar.gz", pytester.path)
    expected = static_report(shared_data / "half_plus_two_v1.tar.gz")
    assert expected["verdict"] == "not-applicable"
    result = pytester.runpytest_subprocess("--sigcheck", "half_plus_two_v1.tar.gz", "--sigcheck-static", "-rs")
    result.assert_outcomes(passed=expected["summary"]["pass"], skipped=expected["summary"]["skip"])
    skips = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert any(line.startswith("SKIPPED [") and "half_plus_two_v1.tar.gz: not an image module" in line
               for line in skips), skips


def test_warning_results_pass_with_a_sigcheck_warning(pytester, built):
    export(pytester, built, "img302-uint8-input")
    project = ('[tool.pytest.ini_options]\nsigcheck_modules = ["exports/*"]\nsigcheck_static = true\n'
               '[tool.sigcheck]\nseverity = {{ IMG302 = "warning" }}\n{}')
    pytester.makepyprojecttoml(project.format(""))
    result = pytester.runpytest_subprocess("-v")
    assert result.ret == 0
    assert result.parseoutcomes()["warnings"] == 2
    out = result.stdout.str()
    assert "exports/img302-uint8-input::IMG302[default] PASSED" in out
    assert "SigcheckWarning: IMG302 input-dtype [default]: 'images' is uint8" in out
    pytester.makepyprojecttoml(project.format('fail_on = "warning"\n'))
    strict = pytester.runpytest_subprocess("-v")
    assert strict.parseoutcomes()["failed"] == 2
    assert "status:   warn (severity warning)" in strict.stdout.str()


def test_an_unreadable_module_is_one_failing_item_that_says_why(pytester):
    (pytester.path / "exports" / "empty").mkdir(parents=True)
    pytester.makeini("[pytest]\nsigcheck_static = true\nsigcheck_modules =\n    exports/*\n    missing/*\n")
    result = pytester.runpytest_subprocess("-v", "-rf")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "exports/empty::sigcheck FAILED" in out and "missing/*::sigcheck FAILED" in out
    assert "no saved_model.pb" in out and "no such file or directory" in out
    assert "the module could not be read (read error), so no rule ran" in out
    for noise in NO_TRACEBACK:
        assert noise not in out, noise


def test_inert_unless_asked(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    pytester.makepyprojecttoml("[tool.sigcheck]\nno-such-key = 1\n")
    assert "--sigcheck=PATH" in pytester.runpytest_subprocess("--help").stdout.str(), "plugin not loaded"
    plain = pytester.runpytest_subprocess("--collect-only", "-q")
    assert [line for line in plain.stdout.lines if "::" in line] == ["test_plain.py::test_one"]
    assert "sigcheck" not in plain.stdout.str()
    assert "sigcheck:" not in pytester.runpytest_subprocess("--markers").stdout.str()
    asked = pytester.runpytest_subprocess("--sigcheck", "anything")
    assert asked.ret == 4 and "sigcheck: " in asked.stderr.str() and "'no-such-key'" in asked.stderr.str()


def test_item_ids_and_selection(pytester, built):
    shutil.copytree(built["fv-conformant"], pytester.path / "fv-conformant")
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    ids = pytester.runpytest_subprocess("--sigcheck", "fv-conformant", "--sigcheck-static", "--co", "-q").stdout.lines
    items = [line for line in ids if "::" in line]
    for expected in ("fv-conformant::IMG302[image_feature_vector]", "fv-conformant::IMG302[default]",
                     "fv-conformant::HUB101", "fv-conformant::HUB104[{train}]", "test_plain.py::test_one"):
        assert expected in items, expected
    assert len(items) == len(set(items)) == len(static_report(pytester.path / "fv-conformant")["results"]) + 1
    pytester.makeini("[pytest]\nsigcheck_modules = fv-conformant\nsigcheck_static = true\n")
    picked = pytester.runpytest_subprocess("-k", "IMG302 and image_feature_vector", "--co", "-q").stdout.lines
    assert [line for line in picked if "::" in line] == ["fv-conformant::IMG302[image_feature_vector]"]
    narrowed = pytester.runpytest_subprocess("test_plain.py", "--co", "-q").stdout.lines
    assert [line for line in narrowed if "::" in line] == ["test_plain.py::test_one"]


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


def test_names_are_unique_when_a_rule_repeats_a_place():
    def result(**where):
        return Result(rule="IMG301", name="input-name", severity="error", status="fail", message="m",
                      spec="images#input", **where)

    results = [result(tags=(), signature="default"), result(tags=(), signature="default"),
               result(tags=("train",)), result(tags=("train",), signature="default"), result()]
    assert [name for name, _ in _names(results)] == [
        "IMG301[default]", "IMG301[default]#2", "IMG301[{train}]", "IMG301[{train}/default]", "IMG301"]


def test_full_mode_runs_inference_once_for_all_modules(pytester, built):
    export(pytester, built, "fv-conformant", "run503-batch-statistics")
    pytester.makeini("[pytest]\nsigcheck_modules = exports/*\n")
    result = pytester.runpytest_subprocess("-v", "-rf")
    assert result.ret == 1
    out = result.stdout.str()
    assert "exports/fv-conformant::RUN503[default] PASSED" in out
    assert "exports/run503-batch-statistics::RUN503[default] FAILED" in out
    assert "exports/run503-batch-statistics::RUN501[{train}/default] PASSED" in out
    assert "depends on the other images in the batch" in out
    assert result.parseoutcomes()["failed"] == 2  # RUN503 in default and image_feature_vector



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
