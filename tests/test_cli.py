"""The command line as users and CI gates see it: exit codes, flags, formats."""

from __future__ import annotations

import json

import pytest

from helpers import rule_verdicts, run_sigcheck, run_sigcheck_inprocess
from sigcheck.rules import load_rules

ALL_CODES = [r.code for r in load_rules()]


def test_conformant_module_rich_report(modules):
    run = run_sigcheck("--static", "--details", modules.build("fv-conformant"))
    assert run.returncode == 0
    out = run.stdout
    assert "\x1b[" not in out, "colour codes although NO_COLOR is set and stdout is not a TTY"
    for expected in ("Format", "FORMAT_V3", "Tag sets", "{}, {train}", "Image size", "32x32 (from ImageModuleInfo)",
                     "Outputs (N)", "16", "signature default", "signature image_feature_vector", "PASS",
                     "IMG302", "input-dtype"):
        assert expected in out, expected
    assert out.rstrip().splitlines()[-1].startswith("PASS: the module follows the Common Signatures for Images")


def test_violations_exit_1_and_show_fail_rows(modules):
    run = run_sigcheck_inprocess("--static", modules.build("img302-uint8-input"))
    assert run.returncode == 1
    assert "FAIL" in run.stdout and "IMG302" in run.stdout and "uint8" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1].startswith("FAIL:")


@pytest.mark.parametrize("select,expected", [
    (["IMG"], [c for c in ALL_CODES if c.startswith("IMG")]),
    (["OUT40"], [c for c in ALL_CODES if c.startswith("OUT40")]),
    (["img302,SEC601"], ["IMG302", "SEC601"]),
])
def test_select_takes_codes_and_prefixes(modules, select, expected):
    args = [a for s in select for a in ("--select", s)]
    run = run_sigcheck_inprocess("--static", "--format", "json", *args, modules.build("fv-conformant"))
    assert sorted(rule_verdicts(run.json)) == sorted(expected)


def test_ignore_removes_the_violation(modules):
    path = modules.build("img302-uint8-input")
    run = run_sigcheck_inprocess("--static", "--format", "json", "--ignore", "IMG30", path)
    assert run.returncode == 0 and run.json["verdict"] == "pass"
    assert not any(code.startswith("IMG30") for code in rule_verdicts(run.json))


def test_fail_on_warning_counts_warnings(modules, tmp_path):
    path = modules.build("img302-uint8-input")
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.sigcheck]\nseverity = { IMG302 = "warning" }\n')
    relaxed = run_sigcheck_inprocess("--static", "--format", "json", "--config", config, path)
    assert relaxed.returncode == 0
    assert rule_verdicts(relaxed.json)["IMG302"] == "warn" and relaxed.json["verdict"] == "pass"
    strict = run_sigcheck_inprocess("--static", "--format", "json", "--config", config, "--fail-on", "warning", path)
    assert strict.returncode == 1 and strict.json["verdict"] == "fail"


def test_tags_restricts_the_tag_sets_checked(modules):
    path = modules.build("out405-train-output-dropout")
    run = run_sigcheck_inprocess("--static", "--format", "json", "--tags", "", path)
    assert run.returncode == 0
    assert {tuple(r["tags"]) for r in run.json["results"] if r["rule"] == "OUT405"} == {()}
    train_only = run_sigcheck_inprocess("--static", "--format", "json", "--tags", "train", "--select", "OUT405", path)
    assert train_only.returncode == 1
    missing = run_sigcheck_inprocess("--static", "--tags", "serve", path)
    assert missing.returncode == 2 and "no such tag set" in missing.error_lines[0]


@pytest.mark.parametrize("setup,message", [
    ("missing", "no such file or directory"),
    ("empty-dir", "no saved_model.pb"),
    ("garbage-saved-model", "does not parse as a SavedModel"),
    ("plain-file", "not a module directory"),
])
def test_unreadable_modules_exit_2_with_one_line_and_a_json_error_report(tmp_path, setup, message):
    path = tmp_path / "module"
    if setup == "empty-dir":
        path.mkdir()
    elif setup == "garbage-saved-model":
        path.mkdir()
        (path / "saved_model.pb").write_bytes(b"\xff\xff\xff\xff\x0f definitely not protobuf")
    elif setup == "plain-file":
        path.write_text("hello")
    run = run_sigcheck_inprocess("--static", path)
    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.error_lines) == 1 and message in run.error_lines[0], run.stderr
    assert run.error_lines[0].startswith("sigcheck: error: ")
    as_json = run_sigcheck_inprocess("--static", "--format", "json", path)
    assert as_json.returncode == 2
    report = as_json.json
    assert report["verdict"] == "error" and report["results"] == [] and message in report["error"]["message"]
    assert report["error"]["type"] == "read"


def test_bad_usage_is_one_line_and_exit_2(modules):
    for args in (["--format", "yaml", "x"], ["--fail-on", "sometimes", "x"], [], ["--no-such-flag", "x"]):
        run = run_sigcheck_inprocess(*args)
        assert run.returncode == 2, args
        assert len(run.error_lines) == 1 and "Traceback" not in run.stderr, run.stderr


def test_json_report_shape_is_the_public_contract(modules):
    report = run_sigcheck_inprocess("--static", "--format", "json", modules.build("fv-conformant")).json
    assert {"schema", "module", "verdict", "error", "facts", "results", "summary"} <= set(report)
    assert set(report["summary"]) == {"pass", "fail", "warn", "skip", "error"}
    for result in report["results"]:
        assert {"rule", "name", "severity", "status", "tags", "signature", "message", "spec"} <= set(result)
        assert result["status"] in ("pass", "fail", "warn", "skip", "error")
    assert sum(report["summary"].values()) == len(report["results"])


def test_output_writes_the_report_to_a_file(modules, tmp_path):
    out = tmp_path / "report.json"
    run = run_sigcheck_inprocess("--static", "--format", "json", "--output", out, modules.build("fv-conformant"))
    assert run.returncode == 0 and run.stdout == ""
    assert json.loads(out.read_text())["verdict"] == "pass"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    (tmp_path / "no").write_text("a file, not a directory")
    bad = run_sigcheck_inprocess("--static", "--output", tmp_path / "no" / "dir" / "r.txt", modules.build("fv-conformant"))
    assert bad.returncode == 2 and "cannot write" in bad.error_lines[0]


def test_rules_command_lists_every_rule():
    run = run_sigcheck_inprocess("rules")
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ALL_CODES
    as_json = json.loads(run_sigcheck_inprocess("rules", "--format", "json").stdout)
    assert [r["code"] for r in as_json] == ALL_CODES


def test_version_and_module_entry_point():
    from sigcheck import __version__

    run = run_sigcheck("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"sigcheck {__version__}"


def test_python_dash_m_works(modules):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sigcheck", "--static", modules.build("fv-conformant")],
                          capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0 and "PASS" in proc.stdout


def test_a_subcommand_is_one_entry_in_the_command_table(monkeypatch, capsys):
    """What adding `sigcheck diff` or `sigcheck snapshot` takes: an entry in COMMANDS, its options with it."""
    from sigcheck import cli

    seen = {}

    def hello(args):
        seen.update(words=cli._words(args, "hello", 1), greeting=args.greeting, static=args.static)
        return 0

    monkeypatch.setitem(cli.COMMANDS, "hello", cli.Command(
        "hello", "NAME", "greets a module", hello, options=(cli.Option(("--greeting",), {"default": "hi"}),)))
    assert cli.main(["--static", "hello", "you", "--greeting", "yo"]) == 0
    assert seen == {"words": ["you"], "greeting": "yo", "static": True}
    assert "'sigcheck hello NAME' greets a module" in " ".join(cli.build_parser().format_help().split())
    assert cli.main(["rules", "--greeting", "yo"]) == 2
    assert cli.main(["hello"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == ["sigcheck: error: --greeting applies to 'sigcheck hello', not 'sigcheck rules'",
                      "sigcheck: error: 'sigcheck hello' takes 1 argument(s), not 0"]


def test_a_static_json_check_imports_no_rich_numpy_or_tensorflow(modules, tmp_path):
    """The pre-commit hook's path pays only for what it uses: no terminal library, no arrays, no TensorFlow,
    no TOML parser (rules come from sigcheck/ruletable.py), and for a TF1 module none of the TF2
    object facts or their reader."""
    import subprocess
    import sys

    code = ("import io, sys, contextlib\n"
            "from sigcheck.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    code = main(['--static', '--format', 'json', sys.argv[1]])\n"
            "print(code, sorted(m for m in ('rich', 'numpy', 'tensorflow', 'sigcheck.facts.objects',\n"
            "                               'sigcheck.facts.object_reader', 'tomllib') if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code, modules.build("img302-uint8-input")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # no pyproject.toml to read
    assert run.stdout.split(maxsplit=1) == ["1", "[]\n"], run.stderr
