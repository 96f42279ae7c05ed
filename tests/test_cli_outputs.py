"""CLI and CI outputs as CI jobs and pre-commit hooks meet them (issue 12):
several reports from one run, "could not check" vs "violates", selections
that select nothing, --output paths, --exit-zero, the compact terminal report,
and one parser for every command."""

from __future__ import annotations

import io
import json
import os
import re
import shutil

import pytest

from helpers import rule_verdicts, run_sigcheck, run_sigcheck_inprocess
from sigcheck.config import Config
from sigcheck.errors import ConfigError
from sigcheck.outputs import use_color
from sigcheck.render.terminal import render, summary_table
from sigcheck.results import ErrorInfo, Report, Result, worst_exit_code


def _result(rule, status, name="x"):
    return Result(rule=rule, name=name, severity="error", status=status, message=f"{rule} {status}", spec="")


# --- "could not check" vs "violates" -------------------------------------------------------------

def test_only_checks_that_could_not_complete_is_its_own_verdict_and_exit_code():
    report = Report("m", results=(_result("IMG302", "pass"), _result("RUN501", "error")))
    assert report.verdict == "incomplete" and report.exit_code == 4
    assert report.to_json()["verdict"] == "incomplete"
    assert Report.from_json(report.to_json()).verdict == "incomplete"


def test_a_violation_takes_precedence_over_could_not_check():
    both = Report("m", results=(_result("IMG302", "fail"), _result("RUN501", "error")))
    assert both.verdict == "fail" and both.exit_code == 1
    incomplete = Report("n", results=(_result("RUN501", "error"),))
    assert worst_exit_code([incomplete, both]) == 1
    assert worst_exit_code([both, incomplete]) == 1
    unreadable = Report("u", error=ErrorInfo("unreadable", "no saved_model.pb"))
    assert worst_exit_code([incomplete, unreadable]) == 2  # existing codes keep their meaning
    assert worst_exit_code([incomplete, Report("p", results=(_result("IMG302", "pass"),))]) == 4


# --- selecting nothing ---------------------------------------------------------------------------

def test_selecting_no_rule_is_a_usage_error(modules):
    run = run_sigcheck_inprocess("--static", "--select", "IMG", "--ignore", "IMG", modules.build("fv-conformant"))
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.error_lines) == 1 and "no rule selected" in run.error_lines[0]


def test_selection_from_the_config_and_the_flags_together_is_checked(modules, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.sigcheck]\nselect = ["IMG302"]\n')
    run = run_sigcheck_inprocess("--static", "--config", config, "--ignore", "IMG3", modules.build("fv-conformant"))
    assert run.returncode == 2 and "no rule selected" in run.error_lines[0]


def test_config_refuses_an_empty_selection_in_process():
    with pytest.raises(ConfigError, match="no rule selected"):
        Config(select=("IMG",), ignore=("IMG",))
    with pytest.raises(ConfigError, match="matches no rule"):
        Config(select=("ZZZ9",))
    assert Config(select=("IMG302",), ignore=("IMG301",)).select == ("IMG302",)


def test_rule_names_are_accepted_by_select_and_explain(modules):
    run = run_sigcheck_inprocess("--static", "--format", "json", "--select", "input-dtype", modules.build("fv-conformant"))
    assert run.returncode == 0 and sorted(rule_verdicts(run.json)) == ["IMG302"]
    explained = run_sigcheck_inprocess("explain", "input-dtype")
    assert explained.returncode == 0 and explained.stdout.startswith("IMG302 input-dtype")


def test_explain_heading_names_each_field():
    run = run_sigcheck_inprocess("explain", "RUN503")
    heading = run.stdout.splitlines()[0]
    assert "runtime, runtime" not in heading
    assert heading == "RUN503 batch-independence (error; runtime check; category runtime)"


# --- one run, several reports; --output ---------------------------------------------------------

def test_one_run_writes_several_reports(modules, tmp_path):
    path = modules.build("img302-uint8-input")
    junit, sarif = tmp_path / "out" / "junit.xml", tmp_path / "sarif" / "sub" / "r.sarif"
    run = run_sigcheck_inprocess("--static", "--report", f"junit:{junit}", "--report", f"sarif:{sarif}",
                       "--report", "json", path)
    assert run.returncode == 1
    assert run.json["verdict"] == "fail"  # the report without a path went to stdout
    assert "IMG302" in junit.read_text() and "<testsuites" in junit.read_text()
    assert json.loads(sarif.read_text())["runs"][0]["results"]


def test_report_refuses_two_stdout_reports_and_mixing_with_format():
    run = run_sigcheck_inprocess("--static", "--report", "json", "--report", "junit", "m")
    assert run.returncode == 2 and "stdout" in run.error_lines[0]
    mixed = run_sigcheck_inprocess("--static", "--report", "json", "--format", "junit", "m")
    assert mixed.returncode == 2 and "--report" in mixed.error_lines[0]


def test_output_creates_parent_directories_with_the_umask_mode(modules, tmp_path):
    target = tmp_path / "a" / "b" / "report.json"
    run = run_sigcheck_inprocess("--static", "--format", "json", "--output", target, modules.build("fv-conformant"))
    assert run.returncode == 0
    assert json.loads(target.read_text())["verdict"] == "pass"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_unwritable_output_is_exit_2_before_any_check(modules, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = run_sigcheck("--format", "json", "--output", blocker / "r.json", modules.build("fv-conformant"))
    assert run.returncode == 2 and len(run.error_lines) == 1
    assert str(blocker / "r.json") in run.error_lines[0]
    assert not run.tensorflow_imported, "the check ran before the output path was tried"


def test_exit_zero_passes_violations_only(modules):
    run = run_sigcheck_inprocess("--static", "--exit-zero", modules.build("img302-uint8-input"))
    assert run.returncode == 0 and "FAIL" in run.stdout
    unreadable = run_sigcheck_inprocess("--static", "--exit-zero", "/nonexistent/module")
    assert unreadable.returncode == 2


# --- the terminal report -------------------------------------------------------------------------

def test_default_report_shows_findings_and_counts_the_rest(modules):
    path = modules.build("img302-uint8-input")
    compact = run_sigcheck_inprocess("--static", path)
    rows = [line for line in compact.stdout.splitlines() if line.lstrip().startswith("PASS ")]
    assert rows == [] and "IMG302" in compact.stdout and "Not shown:" in compact.stdout
    for flag in ("--details", "-v"):
        full = run_sigcheck_inprocess("--static", flag, path)
        assert any(line.lstrip().startswith("PASS ") for line in full.stdout.splitlines())


def test_a_folded_skip_row_does_not_name_one_rule_for_many():
    results = tuple(_result(f"OUT40{i}", "skip") for i in range(2, 8))
    text = render([Report("m", results=tuple(Result(r.rule, "n", "error", "skip", "no run", "") for r in results))],
                  details=True, width=120)
    row = next(line for line in text.splitlines() if line.lstrip().startswith("SKIP"))
    assert "6 rules" in row and not re.search(r"OUT40\d\s+6 rules", row)


def test_scan_table_keeps_module_names_and_errors_out_of_count_columns():
    long_name = "exports/some/rather/long/path/to/saved_model_directory_v2"
    reports = [Report(long_name, results=(_result("IMG302", "pass"),)),
               Report("exports/broken", error=ErrorInfo("unreadable", "no saved_model.pb or saved_model.pbtxt here"))]
    text = render(reports, width=70)
    assert "…" not in text
    assert "exports/broken: ERROR no saved_model.pb or saved_model.pbtxt here" in " ".join(text.split())
    folded = "".join(line.split()[0] for line in text.splitlines()[3:6] if line.strip())
    assert long_name in folded or long_name in text


def test_errors_do_not_repeat_the_path():
    run = run_sigcheck_inprocess("--static", "/nonexistent/a/", "/nonexistent/b/")
    assert run.returncode == 2
    assert run.error_lines == ["sigcheck: error: /nonexistent/a/: no such file or directory",
                               "sigcheck: error: /nonexistent/b/: no such file or directory"]


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_empty_no_color_keeps_colour():
    assert use_color(_Tty(), {}) is True
    assert use_color(_Tty(), {"NO_COLOR": ""}) is True
    assert use_color(_Tty(), {"NO_COLOR": "1"}) is False
    assert use_color(io.StringIO(), {}) is False


# --- one parser for every command ----------------------------------------------------------------

def test_help_names_the_commands():
    run = run_sigcheck_inprocess("--help")
    assert run.returncode == 0
    for command in ("scan", "rules", "explain"):
        assert f"sigcheck {command}" in " ".join(run.stdout.split()), command


@pytest.mark.parametrize("order", ["options-first", "command-first"])
def test_options_go_before_or_after_the_command(modules, tmp_path, order):
    exports = tmp_path / "exports"
    shutil.copytree(modules.build("img302-uint8-input"), exports / "m")
    args = ["--static", "--format", "json", "scan", exports] if order == "options-first" else \
        ["scan", exports, "--static", "--format", "json"]
    run = run_sigcheck(*args)
    assert run.returncode == 1, run.stderr
    assert not run.tensorflow_imported
    document = run.json
    reports = document.get("reports", [document])
    assert [r["verdict"] for r in reports] == ["fail"]


def test_rules_takes_its_format_either_side():
    assert json.loads(run_sigcheck_inprocess("--format", "json", "rules").stdout)[0]["code"]
    assert json.loads(run_sigcheck_inprocess("rules", "--format", "json").stdout)[0]["code"]
    assert run_sigcheck_inprocess("rules", "--format", "sarif").returncode == 2


# --- per-module settings -------------------------------------------------------------------------

def test_per_module_settings_apply_to_matching_modules_only(tmp_path):
    from sigcheck.config import load_config

    config_file = tmp_path / "pyproject.toml"
    config_file.write_text('[tool.sigcheck]\nignore = ["SEC601"]\n'
                           '[tool.sigcheck.per-module."exports/legacy_*"]\n'
                           'ignore = ["IMG302"]\nseverity = { OUT407 = "warning" }\n')
    config = load_config(str(config_file))
    legacy = config.for_module("exports/legacy_v1/")
    assert legacy.ignore == ("SEC601", "IMG302") and legacy.severities["OUT407"] == "warning"
    assert config.for_module(str(tmp_path / "exports" / "legacy_v2")).ignore == ("SEC601", "IMG302")
    assert config.for_module("exports/current").ignore == ("SEC601",)


def test_per_module_keys_are_validated(tmp_path):
    from sigcheck.config import load_config

    config_file = tmp_path / "pyproject.toml"
    config_file.write_text('[tool.sigcheck.per-module."exports/*"]\nfail-on = "warning"\n')
    with pytest.raises(ConfigError, match="unknown key 'fail-on'"):
        load_config(str(config_file))
    config_file.write_text('[tool.sigcheck.per-module."exports/*"]\nignore = ["NOPE1"]\n')
    with pytest.raises(ConfigError, match="matches no rule"):
        load_config(str(config_file))


def test_per_module_ignore_through_the_cli(modules, tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(modules.build("img302-uint8-input"), exports / "legacy_v1")
    shutil.copytree(modules.build("img302-uint8-input"), exports / "current")
    (tmp_path / "pyproject.toml").write_text('[tool.sigcheck.per-module."exports/legacy_*"]\nignore = ["IMG302"]\n')
    run = run_sigcheck_inprocess("--static", "--format", "json", "exports/legacy_v1", "exports/current", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    verdicts = {r["module"]: r["verdict"] for r in run.json["reports"]}
    assert verdicts == {"exports/legacy_v1": "pass", "exports/current": "fail"}
    alone = run_sigcheck_inprocess("--static", "--format", "json", "exports/legacy_v1/", cwd=tmp_path)
    assert alone.returncode == 0 and "IMG302" not in rule_verdicts(alone.json)
