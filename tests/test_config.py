"""[tool.sigcheck] and --config: validated in one place, flags override the file."""

from __future__ import annotations

import pytest

from helpers import rule_verdicts, run_sigcheck, run_sigcheck_inprocess
from sigcheck.cli import main
from sigcheck.config import ConfigError, load_config


def write(path, text):
    path.write_text(text)
    return path


def test_pyproject_is_found_from_the_working_directory_upward(modules, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.sigcheck]\nignore = ["IMG302"]\nstatic = true\n')
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    run = run_sigcheck("--format", "json", modules.build("img302-uint8-input"), cwd=nested)
    assert run.returncode == 0 and not run.tensorflow_imported
    assert "IMG302" not in rule_verdicts(run.json)


def test_flags_override_the_file(modules, tmp_path):
    config = write(tmp_path / "sigcheck.toml", 'select = ["IMG302"]\nstatic = true\nfail-on = "warning"\n')
    path = modules.build("img302-uint8-input")
    from_file = run_sigcheck("--config", config, "--format", "json", path)
    assert sorted(rule_verdicts(from_file.json)) == ["IMG302"] and from_file.json["fail_on"] == "warning"
    overridden = run_sigcheck("--config", config, "--format", "json", "--select", "IMG303", "--fail-on", "error",
                              path)
    assert sorted(rule_verdicts(overridden.json)) == ["IMG303"] and overridden.json["fail_on"] == "error"


def test_severity_overrides_and_rule_options_take_effect(modules, tmp_path):
    config = write(tmp_path / "pyproject.toml", "\n".join([
        "[tool.sigcheck]",
        'severity = { IMG302 = "warning" }',
        'select = ["IMG302", "RUN503"]',
        "batch-sizes = [1, 2]",
        "[tool.sigcheck.options.RUN503]",
        "rtol = 10.0",
        "atol = 10.0",
    ]))
    uint8 = run_sigcheck_inprocess("--config", config, "--format", "json", "--static", modules.build("img302-uint8-input"))
    assert rule_verdicts(uint8.json) == {"IMG302": "warn", "RUN503": "skip"} and uint8.returncode == 0
    loose = run_sigcheck("--config", config, "--format", "json", modules.build("run503-batch-statistics"))
    assert rule_verdicts(loose.json)["RUN503"] == "pass", "a huge tolerance should accept batch statistics"
    assert any("tolerance 1" in r["message"] for r in loose.json["results"] if r["rule"] == "RUN503")


@pytest.mark.parametrize("text,message", [
    ('[tool.sigcheck]\nselcet = ["IMG"]\n', "unknown key 'selcet'"),
    ('[tool.sigcheck]\nfail-on = "sometimes"\n', "fail-on must be one of error, warning"),
    ('[tool.sigcheck]\nselect = ["XYZ"]\n', "'XYZ' matches no rule"),
    ('[tool.sigcheck]\nseverity = { IMG302 = "fatal" }\n', "must be one of error, warning"),
    ('[tool.sigcheck]\nseverity = { IMG999 = "error" }\n', "unknown rule 'IMG999'"),
    ('[tool.sigcheck]\nbatch-sizes = [0]\n', "outside 1..4096"),
    ('[tool.sigcheck]\ntimeout = "soon"\n', "positive number of seconds"),
    ('[tool.sigcheck]\nstatic = "yes"\n', "must be true or false"),
    ('[tool.sigcheck.options.RUN503]\nrtoll = 1\n', "unknown option 'rtoll'"),
    ('[tool.sigcheck.options.RUN503]\nrtol = "big"\n', "must be like the default"),
    ('[tool.sigcheck.options.SEC601]\nextra_allowed_ops = "ReadFile"\n', "must be like the default"),
    ('[tool.sigcheck]\nmax-archive-size = "huge"\n', "not a size"),
    # numbers must be finite and in range, lists hold their element type (these crashed with exit 3)
    ('[tool.sigcheck]\ntimeout = inf\n', "positive number of seconds"),
    ('[tool.sigcheck]\ntimeout = 1e300\n', "positive number of seconds"),
    ('[tool.sigcheck]\ntimeout = nan\n', "positive number of seconds"),
    ('[tool.sigcheck]\nmax-archive-size = 1e999\n', "not a size"),
    ('[tool.sigcheck]\nmax-archive-size = "1e999"\n', "not a size"),
    ('[tool.sigcheck]\nmax-memory = "100MiB"\n', "below the minimum of 1GiB"),
    ('[tool.sigcheck]\nmax-memory = inf\n', "not a size"),
    ('[tool.sigcheck]\nrequire-sandbox = "yes"\n', "must be true or false"),
    ('[tool.sigcheck.options.SEC601]\nextra_allowed_ops = [[1, 2]]\n', "must be like the default"),
    ('[tool.sigcheck.options.SEC601]\nextra_allowed_ops = [1]\n', "must be like the default"),
    ('[tool.sigcheck.options.RUN501]\nmax_batch_gib = nan\n', "finite number >= 0"),
    ('[tool.sigcheck.options.RUN501]\nmax_batch_gib = -1.0\n', "finite number >= 0"),
    ('[tool.sigcheck.options.OUT405]\ndynamic_runs = inf\n', "must be like the default"),
    ('[tool.sigcheck.options.OUT405]\ndynamic_runs = 0\n', "whole number >= 1"),
    ('[tool.sigcheck.options.IMG307]\ndepth = 2.5\n', "must be like the default"),
    ("[tool.sigcheck\n", "not valid TOML"),
])
def test_bad_config_is_a_one_line_error(tmp_path, text, message):
    """The table is validated in-process (pure logic); the CLI's exit code is tested below."""
    config = write(tmp_path / "pyproject.toml", text)
    for found in (lambda: load_config(str(config)), lambda: load_config(search_from=str(tmp_path))):
        with pytest.raises(ConfigError) as raised:
            found()
        assert message in str(raised.value) and "\n" not in str(raised.value)


def test_bad_config_is_a_one_line_error_and_exit_2_from_the_cli(modules, tmp_path):
    config = write(tmp_path / "pyproject.toml", '[tool.sigcheck]\nselcet = ["IMG"]\n')
    run = run_sigcheck_inprocess("--config", config, "--static", modules.build("fv-conformant"))
    assert run.returncode == 2
    assert len(run.error_lines) == 1 and "unknown key 'selcet'" in run.error_lines[0], run.stderr
    found = run_sigcheck_inprocess("--static", modules.build("fv-conformant"), cwd=tmp_path)
    assert found.returncode == 2 and "unknown key 'selcet'" in found.error_lines[0]


def test_a_missing_config_file_is_an_error(tmp_path, modules):
    run = run_sigcheck_inprocess("--config", tmp_path / "nope.toml", "--static", modules.build("fv-conformant"))
    assert run.returncode == 2 and "cannot be read" in run.error_lines[0]
    table_missing = write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    run = run_sigcheck_inprocess("--config", table_missing, "--static", modules.build("fv-conformant"))
    assert run.returncode == 2 and "no [tool.sigcheck] table" in run.error_lines[0]


@pytest.mark.parametrize("args,message", [
    (["--timeout", "inf"], "positive number of seconds"),
    (["--timeout", "1e300"], "positive number of seconds"),
    (["--timeout", "nan"], "positive number of seconds"),
    (["--timeout", "-1"], "positive number of seconds"),
    (["--max-archive-size", "1e999"], "not a size"),
    (["--max-memory", "1e999"], "not a size"),
    (["--max-memory", "10MiB"], "below the minimum of 1GiB"),
])
def test_bad_numeric_flags_are_usage_errors(modules, args, message, capsys):
    """Flags are parsed in-process by the CLI's own main; nothing is checked."""
    assert main([*args, "--static", modules.build("fv-conformant")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 1 and message in lines[0], lines


def test_a_bad_numeric_flag_exits_2_from_the_cli(modules):
    run = run_sigcheck_inprocess("--timeout", "nan", "--static", modules.build("fv-conformant"))
    assert run.returncode == 2 and len(run.error_lines) == 1 and "positive number" in run.error_lines[0]


def test_timeout_none_means_no_limit_in_flag_and_config(modules, tmp_path):
    from sigcheck.config import config_from_table, parse_timeout

    assert parse_timeout("none") == parse_timeout("None") == float("inf")
    assert config_from_table({"timeout": "none"}).timeout == float("inf")
    config = write(tmp_path / "sigcheck.toml", 'timeout = "none"\n')
    run = run_sigcheck("--config", config, "--format", "json", "--select", "RUN501", modules.build("fv-conformant"))
    assert run.returncode == 0, run.stderr
    flag = run_sigcheck("--timeout", "none", "--format", "json", "--select", "RUN501", modules.build("fv-conformant"))
    assert flag.returncode == 0 and rule_verdicts(flag.json) == {"RUN501": "pass"}, flag.stderr
