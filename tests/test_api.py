"""The public Python API: from sigcheck import check, check_many, scan, Config, Report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import sigcheck
from helpers import run_sigcheck_inprocess
from sigcheck import Config, ConfigError, Report, check, check_many, scan
from sigcheck.rules import load_rules


def imported_by(code: str) -> set:
    """Top-level-ish modules a fresh interpreter has after running ``code``."""
    probe = code + "\nimport sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split()[-1:] and out.splitlines()[-1].split())


def test_import_sigcheck_is_cheap_and_a_static_check_never_imports_tensorflow(modules):
    bare = imported_by("import sigcheck")
    # only bundled (os alone), which finds the checkout's fixtures/ for `import sigcheck.fixtures`
    assert {m for m in bare if m.startswith("sigcheck.")} <= {"sigcheck.bundled"}
    assert not {"rich", "google.protobuf", "numpy", "tensorflow"} & bare
    path = modules.build("fv-conformant")
    used = imported_by(f"import sigcheck\nassert sigcheck.check({path!r}, static=True).ok")
    assert "sigcheck.api" in used and not {"tensorflow", "numpy", "tensorflow_hub", "rich"} & used


def test_report_is_easy_to_use(modules):
    path = modules.build("img302-uint8-input")
    report = check(path, static=True)
    assert isinstance(report, Report) and report.verdict == "fail" and not report.ok
    failing = [(r.rule, r.signature) for r in report if r.status == "fail"]
    assert failing == [("IMG302", "default"), ("IMG302", "image_feature_vector")]
    document = report.to_dict()
    assert document["schema"] == "sigcheck-report/1" and document["verdict"] == "fail"
    assert json.loads(report.to_json_text()) == document == run_sigcheck_inprocess("--static", "--format", "json", path).json
    assert report.facts == document["facts"] and report.facts["image_size"]["height"] > 0
    assert check(modules.build("fv-conformant"), static=True).ok


def test_keyword_options_are_validated_like_the_cli(modules):
    path = modules.build("img302-uint8-input")
    assert Config(select="IMG302").select == ("IMG302",)
    assert {r.rule for r in check(path, static=True, select="IMG302")} == {"IMG302"}
    assert {r.rule for r in check(path, Config(select="IMG302", static=True))} == {"IMG302"}
    img30 = {r.code for r in load_rules() if r.code.startswith("IMG30")}
    assert {r.rule for r in check(path, static=True, select=["IMG30", "OUT401"], ignore="IMG306")} == (
        img30 - {"IMG306"} | {"OUT401"})
    assert check(path, static=True, severity={"IMG302": "warning"}).ok
    assert not check(path, static=True, severity={"IMG302": "warning"}, fail_on="warning").ok
    refused = {
        "select nothing": dict(select="IMG", ignore=["IMG"]),
        "unknown prefix": dict(select="XYZ"),
        "unknown option": dict(no_such_option=1),
        "wrong type": dict(static="yes"),
        "bad timeout": dict(timeout=0),
        "bad batch size": dict(batch_sizes=[0]),
        "bad severity": dict(severity={"IMG302": "fatal"}),
    }
    for why, options in refused.items():
        with pytest.raises(ConfigError) as raised:
            check(path, **options)
        assert raised.value.exit_code == 2 and "\n" not in str(raised.value), why
    with pytest.raises(ConfigError, match="leaves nothing to check"):
        Config(select="OUT40", ignore="OUT4")
    cli = run_sigcheck_inprocess("--static", "--select", "IMG", "--ignore", "IMG", path)
    assert cli.returncode == 2 and cli.error_lines == [
        "sigcheck: error: no rule selected: select IMG minus ignore IMG leaves nothing to check"]


def test_many_modules(modules, tmp_path):
    good, bad = modules.build("fv-conformant"), modules.build("img302-uint8-input")
    reports = check_many([bad, good], static=True, select="IMG", jobs=1)
    assert [(r.module, r.verdict) for r in reports] == [(bad, "fail"), (good, "pass")]
    root = tmp_path / "exports"
    shutil.copytree(good, root / "a")
    found = scan(str(tmp_path / "exports"), static=True, select="IMG302")
    assert [r.verdict for r in found] == ["pass"] and found[0].module.endswith("a")


def test_public_names():
    assert {"check", "check_many", "scan", "Config", "Report", "Result", "load_config"} <= set(sigcheck.__all__)
    with pytest.raises(AttributeError):
        sigcheck.no_such_name


def test_per_module_settings_apply_to_the_api_too(modules, tmp_path):
    """[tool.sigcheck.per-module."GLOB"] is applied inside check(), so the API and the
    pytest plugin honour it like the CLI."""
    from sigcheck.config import load_config

    exports = tmp_path / "exports"
    shutil.copytree(modules.build("img302-uint8-input"), exports / "legacy_v1")
    shutil.copytree(modules.build("img302-uint8-input"), exports / "current")
    (tmp_path / "pyproject.toml").write_text('[tool.sigcheck.per-module."exports/legacy_*"]\nignore = ["IMG302"]\n')
    config = load_config(str(tmp_path / "pyproject.toml"))
    legacy = check(str(exports / "legacy_v1"), config, static=True)
    current = check(str(exports / "current"), config, static=True)
    assert "IMG302" not in {r.rule for r in legacy} and legacy.verdict == "pass"
    assert current.verdict == "fail" and any(r.rule == "IMG302" and r.status == "fail" for r in current)
