"""Several modules in one call: `sigcheck a b`, `sigcheck scan DIR`, --jobs, worst exit code."""

from __future__ import annotations

import shutil

from helpers import rule_verdicts, run_sigcheck_inprocess
from test_resolve import make_tarball


def test_several_modules_give_one_report_each_and_the_worst_exit_code(modules):
    good, bad = modules.build("fv-conformant"), modules.build("img302-uint8-input")
    run = run_sigcheck_inprocess("--static", "--format", "json", good, bad)
    assert run.returncode == 1
    document = run.json
    assert document["schema"] == "sigcheck-reports/1"
    assert [r["module"] for r in document["reports"]] == [good, bad]
    assert [r["verdict"] for r in document["reports"]] == ["pass", "fail"]
    assert document["summary"] == {"modules": 2, "verdicts": {"pass": 1, "fail": 1}, "exit_code": 1}


def test_an_unreadable_module_among_others_is_exit_2(modules, tmp_path):
    run = run_sigcheck_inprocess("--static", "--format", "json", modules.build("fv-conformant"), tmp_path / "missing")
    assert run.returncode == 2
    assert [r["verdict"] for r in run.json["reports"]] == ["pass", "error"]
    assert any("missing: no such file or directory" in line for line in run.error_lines)


def test_scan_finds_module_directories_and_archives(modules, tmp_path):
    root = tmp_path / "exports"
    (root / "vision").mkdir(parents=True)
    shutil.copytree(modules.build("fv-conformant"), root / "vision" / "features")
    shutil.copytree(modules.build("classifier-conformant"), root / "classifier")
    make_tarball(modules.build("out402-float64"), root / "vision" / "float64.tar.gz")
    (root / "notes.txt").write_text("not a module")
    run = run_sigcheck_inprocess("scan", root, "--static", "--format", "json", "--jobs", "2")
    modules_found = [r["module"] for r in run.json["reports"]]
    assert modules_found == sorted([str(root / "classifier"), str(root / "vision" / "features"),
                                    str(root / "vision" / "float64.tar.gz")])
    assert run.returncode == 1
    assert rule_verdicts(run.json["reports"][2])["OUT402"] == "fail"


def test_scan_of_a_directory_without_modules_is_a_usage_error(tmp_path):
    run = run_sigcheck_inprocess("scan", tmp_path, "--static")
    assert run.returncode == 2 and "no module directories" in run.error_lines[0]


def test_the_terminal_shows_a_summary_row_per_module_and_details_on_request(modules):
    good, bad = modules.build("fv-conformant"), modules.build("img302-uint8-input")
    run = run_sigcheck_inprocess("--static", good, bad, env={"COLUMNS": "300"})
    lines = run.stdout.splitlines()
    assert any(good in line and "PASS" in line for line in lines)
    assert any(bad in line and "FAIL" in line for line in lines)
    assert "2 modules: 1 pass, 1 fail" in run.stdout
    assert "IMG302" in run.stdout and "input-dtype" in run.stdout  # what needs attention
    assert "IMG303" not in run.stdout  # passing rules only with --details
    detailed = run_sigcheck_inprocess("--static", "--details", good, bad)
    assert "IMG303" in detailed.stdout and "Image size" in detailed.stdout


def test_every_format_covers_all_modules(modules):
    good, bad = modules.build("fv-conformant"), modules.build("img302-uint8-input")
    for fmt in ("junit", "sarif", "markdown", "github"):
        run = run_sigcheck_inprocess("--static", "--format", fmt, good, bad)
        assert run.returncode == 1, fmt
        assert bad.rsplit("/", 1)[-1] in run.stdout, fmt
