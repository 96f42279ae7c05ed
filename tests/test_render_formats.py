"""The CI report formats (junit, sarif, markdown, github) as CI consumes them.

Every test runs the real CLI on real fixture modules and parses what a CI
system would parse: the XML, the SARIF against its official schema, the
Markdown table, the workflow command lines.  The JSON report of the same run
is the reference for what the results are.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin

import jsonschema
import pytest

from helpers import run_sigcheck, run_sigcheck_inprocess
from sigcheck.rules import load_rules

FORMATS = ("junit", "sarif", "markdown", "github", "gitlab", "concise")
ALL_CODES = [r.code for r in load_rules()]
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
NOTEWORTHY = ("fail", "warn", "error")


def render(fmt, *paths, cwd=None, config=None):
    """What ``sigcheck --static --format FMT`` prints, run in-process (rendering is pure)."""
    extra = ("--config", config) if config else ()
    return run_sigcheck_inprocess("--static", "--format", fmt, *extra, *paths, cwd=cwd)


def reference(*paths, cwd=None, config=None) -> dict:
    """The JSON report of the same invocation: what the other formats must agree with."""
    extra = ("--config", config) if config else ()
    return run_sigcheck_inprocess("--static", "--format", "json", *extra, *paths, cwd=cwd).json


def copy_module(modules, name, destination: Path) -> Path:
    shutil.copytree(modules.build(name), destination)
    return destination


@pytest.fixture()
def warning_config(tmp_path):
    """IMG302 downgraded to a warning, so img302-uint8-input gives ``warn`` results."""
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.sigcheck]\nseverity = { IMG302 = "warning" }\n')
    return config


# --- every format ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("fixture,expected", [("fv-conformant", 0), ("img302-uint8-input", 1), (None, 2)])
def test_exit_codes_do_not_depend_on_the_format(modules, tmp_path, fmt, fixture, expected):
    path = modules.build(fixture) if fixture else tmp_path / "missing"
    run = render(fmt, path)
    assert run.returncode == expected, run.stderr
    if fmt == "concise" and expected == 0:
        assert run.stdout == ""  # one line per finding: none
    else:
        assert run.stdout.strip(), "every format reports something, even for an unreadable module"


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_writes_the_report_to_the_file_only(modules, tmp_path, fmt):
    path = modules.build("img302-uint8-input")
    out = tmp_path / f"report.{fmt}"
    run = run_sigcheck("--static", "--format", fmt, "--output", out, path)
    assert run.returncode == 1 and run.stdout == ""
    assert untimed(out.read_text()) == untimed(render(fmt, path).stdout)


def untimed(text: str) -> str:
    """The report without JUnit's measured times, which differ from run to run."""
    return re.sub(r'time="[0-9.]*"', 'time=""', text)


# --- SARIF ----------------------------------------------------------------------------------------


def sarif_validator():
    return jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text()),
                                      format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_committed_sarif_schema_is_the_shared_one(shared_data):
    assert SARIF_SCHEMA.read_bytes() == (shared_data / "sarif-schema-2.1.0.json").read_bytes()


@pytest.mark.parametrize("fixtures", [
    ["fv-conformant"], ["img302-uint8-input"], ["hub101-missing-module-def"], ["hub102-no-meta-graph"],
    ["out405-train-output-dropout", "classifier-conformant", "missing"],
])
def test_sarif_is_valid_sarif_2_1_0(modules, tmp_path, fixtures):
    paths = [tmp_path / name if name == "missing" else modules.build(name) for name in fixtures]
    document = json.loads(render("sarif", *paths).stdout)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in sarif_validator().iter_errors(document)]
    assert errors == []
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1


def test_sarif_driver_lists_every_rule(modules):
    driver = json.loads(render("sarif", modules.build("fv-conformant")).stdout)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "sigcheck" and driver["version"] and driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == ALL_CODES
    for rule, entry in zip(load_rules(), driver["rules"]):
        assert entry["name"] == rule.name and entry["shortDescription"]["text"] == rule.summary
        assert entry["helpUri"] == rule.spec_url and entry["help"]["text"] and entry["fullDescription"]["text"]
        assert entry["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning"}[rule.severity]
        assert entry["properties"]["tags"] == [rule.category]


def test_sarif_violation_result_points_into_the_module(modules):
    path = Path(modules.build("img302-uint8-input"))
    # A relative handle, as in CI: the artifact URI stays relative to where sigcheck ran.
    run = render("sarif", path.name, cwd=path.parent)
    assert run.returncode == 1
    sarif_run = json.loads(run.stdout)["runs"][0]
    expected = [r for r in reference(path.name, cwd=path.parent)["results"] if r["status"] == "fail"]
    assert len(sarif_run["results"]) == len(expected) > 0
    rule_ids = [r["id"] for r in sarif_run["tool"]["driver"]["rules"]]
    for result, want in zip(sarif_run["results"], expected):
        assert result["ruleId"] == "IMG302" and rule_ids[result["ruleIndex"]] == "IMG302"
        assert result["level"] == "error" and want["message"] in result["message"]["text"]
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "img302-uint8-input/saved_model.pb"
        logical = location["logicalLocations"][0]
        assert logical["fullyQualifiedName"] == want["location"]
        assert logical["fullyQualifiedName"] == f"tags[]/signatures/{want['signature']}/inputs/images"
    assert sarif_run["invocations"][0]["executionSuccessful"] is True


def test_sarif_tag_set_and_module_def_locations(modules):
    dropout = json.loads(render("sarif", modules.build("out405-train-output-dropout")).stdout)["runs"][0]
    [result] = dropout["results"]
    assert result["ruleId"] == "OUT405"
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == \
        "tags[train]/signatures/default/outputs/default"
    assert resolved_uri(dropout, result["locations"][0]) == \
        Path(modules.build("out405-train-output-dropout"), "saved_model.pb").as_uri()
    module_def = json.loads(render("sarif", modules.build("hub101-missing-module-def")).stdout)["runs"][0]
    [result] = module_def["results"]
    assert result["ruleId"] == "HUB101"
    assert resolved_uri(module_def, result["locations"][0]).endswith("/hub101-missing-module-def/tfhub_module.pb")
    assert "logicalLocations" not in result["locations"][0]


def test_sarif_leaves_out_passes_and_skips_but_counts_them(modules):
    path = modules.build("hub102-no-meta-graph")
    sarif_run = json.loads(render("sarif", path).stdout)["runs"][0]
    summary = reference(path)["summary"]
    assert summary["skip"] > 0
    assert [r["ruleId"] for r in sarif_run["results"]] == ["HUB102"]
    assert sarif_run["properties"]["modules"] == [{"module": str(path), "verdict": "fail", "summary": summary}]


def test_sarif_warnings_are_warning_level(modules, warning_config):
    path = modules.build("img302-uint8-input")
    run = render("sarif", path, config=warning_config)
    assert run.returncode == 0
    results = json.loads(run.stdout)["runs"][0]["results"]
    assert results and {(r["ruleId"], r["level"]) for r in results} == {("IMG302", "warning")}


def test_sarif_unreadable_module_is_a_failed_invocation(tmp_path):
    run = render("sarif", tmp_path / "missing")
    assert run.returncode == 2
    sarif_run = json.loads(run.stdout)["runs"][0]
    assert sarif_run["results"] == []
    invocation = sarif_run["invocations"][0]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error" and "no such file or directory" in notification["message"]["text"]
    assert resolved_uri(sarif_run, notification["locations"][0]) == (tmp_path / "missing").as_uri()


def resolved_uri(sarif_run: dict, location: dict) -> str:
    """The absolute URI a location names, as a SARIF consumer resolves it (SARIF 3.4.4)."""
    artifact = location["physicalLocation"]["artifactLocation"]
    if "uriBaseId" not in artifact:
        return artifact["uri"]
    base = sarif_run["originalUriBaseIds"][artifact["uriBaseId"]]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    return urljoin(base, artifact["uri"])


def sarif_uris(sarif_run: dict) -> list:
    return [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in sarif_run["results"]]


def test_sarif_absolute_paths_are_relative_to_the_working_directory(modules, tmp_path):
    """A module given as /abs/path under the repository is reported repository-relative, not file:///..."""
    repo = tmp_path / "repo"
    module = copy_module(modules, "img302-uint8-input", repo / "exports" / "model")
    sarif_run = json.loads(render("sarif", module, cwd=repo).stdout)["runs"][0]
    assert sarif_run["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.as_uri() + "/"
    locations = sarif_uris(sarif_run)
    assert locations and all(loc == {"uri": "exports/model/saved_model.pb", "uriBaseId": "SRCROOT"}
                             for loc in locations)
    assert all(resolved_uri(sarif_run, r["locations"][0]) == (module / "saved_model.pb").as_uri()
               for r in sarif_run["results"])


def test_sarif_root_rebases_paths_and_leaves_outside_ones_absolute(modules, tmp_path):
    repo = tmp_path / "repo"
    inside = copy_module(modules, "img302-uint8-input", repo / "exports" / "model")
    outside = copy_module(modules, "hub101-missing-module-def", tmp_path / "elsewhere")
    run = run_sigcheck("--static", "--format", "sarif", "--sarif-root", repo, inside, outside, cwd=tmp_path)
    sarif_run = json.loads(run.stdout)["runs"][0]
    assert sarif_run["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.as_uri() + "/"
    by_rule = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"] for r in sarif_run["results"]}
    assert by_rule["IMG302"] == {"uri": "exports/model/saved_model.pb", "uriBaseId": "SRCROOT"}
    assert by_rule["HUB101"] == {"uri": (outside / "tfhub_module.pb").as_uri()}
    assert list(sarif_validator().iter_errors(json.loads(run.stdout))) == []


def test_sarif_security_rule_is_a_security_alert(modules):
    driver = json.loads(render("sarif", modules.build("fv-conformant")).stdout)["runs"][0]["tool"]["driver"]
    rules = {r["id"]: r for r in driver["rules"]}
    sec601 = rules["SEC601"]["properties"]
    assert "security" in sec601["tags"]
    # GitHub reads a string holding a number from 0.0 to 10.0; 7.0 and above is "high".
    assert isinstance(sec601["security-severity"], str) and 7.0 <= float(sec601["security-severity"]) <= 10.0
    assert not any("security-severity" in r["properties"] for code, r in rules.items() if code[:3] != "SEC")


def test_sarif_rule_level_follows_the_configured_severity(modules, warning_config):
    path = modules.build("img302-uint8-input")
    driver = json.loads(render("sarif", path, config=warning_config).stdout)["runs"][0]["tool"]["driver"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in driver["rules"]}
    assert levels["IMG302"] == "warning"
    assert levels["IMG301"] == "error"  # untouched rules keep their own


# --- JUnit ----------------------------------------------------------------------------------------


def junit(*paths, **kwargs):
    run = render("junit", *paths, **kwargs)
    return run, ET.fromstring(run.stdout.encode("utf-8"))


def test_junit_has_one_testcase_per_result(modules):
    path = modules.build("img302-uint8-input")
    run, root = junit(path)
    report = reference(path)
    assert run.returncode == 1 and root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("name") == str(path)
    assert len(cases) == len(report["results"]) == int(suite.get("tests")) == int(root.get("tests"))
    failures = [(case, case.find("failure")) for case in cases if case.find("failure") is not None]
    expected = [r for r in report["results"] if r["status"] == "fail"]
    assert len(failures) == len(expected) == int(suite.get("failures")) == int(root.get("failures")) > 0
    for (case, failure), want in zip(failures, expected):
        assert failure.get("type") == "IMG302" and failure.get("message") == want["message"]
        assert case.get("name") == f"IMG302 input-dtype [{want['signature']}]"
        assert case.get("classname") == f"sigcheck.{str(path).replace('.', '_')}.{want['signature']}"
        assert "https://www.tensorflow.org/hub/common_signatures/images#input" in failure.text


def test_junit_skips_are_skipped_elements(modules):
    path = modules.build("hub102-no-meta-graph")
    _, root = junit(path)
    skips = [r for r in reference(path)["results"] if r["status"] == "skip"]
    skipped = [case.find("skipped") for case in root.iter("testcase") if case.find("skipped") is not None]
    [suite] = root.findall("testsuite")
    assert len(skipped) == len(skips) == int(suite.get("skipped")) > 0
    assert root.get("skipped") is None  # not allowed on <testsuites> by junit-10.xsd
    assert [s.get("message") for s in skipped] == [r["message"] for r in skips]


def test_junit_warnings_pass_with_the_message_in_system_out(modules, warning_config):
    path = modules.build("img302-uint8-input")
    run, root = junit(path, config=warning_config)
    assert run.returncode == 0 and root.get("failures") == "0" and root.get("errors") == "0"
    warned = [case for case in root.iter("testcase") if case.find("system-out") is not None]
    assert warned and all(case.get("name").startswith("IMG302") for case in warned)
    assert all("uint8" in case.find("system-out").text for case in warned)


def test_junit_unreadable_module_is_an_error_testcase(modules, tmp_path):
    run, root = junit(modules.build("fv-conformant"), tmp_path / "missing")
    assert run.returncode == 2
    assert root.get("errors") == "1" and root.get("failures") == "0"
    broken = root.findall("testsuite")[1]
    [case] = broken.findall("testcase")
    error = case.find("error")
    assert broken.get("name") == str(tmp_path / "missing") and broken.get("errors") == "1"
    assert error.get("type") == "read" and "no such file or directory" in error.get("message")


def test_junit_special_characters_survive_a_round_trip(modules, tmp_path):
    odd = copy_module(modules, "img302-uint8-input", tmp_path / "a&b<c>\"d'e")
    unreadable = tmp_path / "gone\x01&<\"'"
    run, root = junit(odd, unreadable)
    assert run.returncode == 2
    readable, broken = root.findall("testsuite")
    assert readable.get("name") == str(odd)
    failure = next(case.find("failure") for case in readable.iter("testcase") if case.find("failure") is not None)
    assert failure.get("message") == next(r["message"] for r in reference(odd)["results"] if r["status"] == "fail")
    # XML 1.0 cannot hold \x01 even escaped: it is spelled out instead.
    assert broken.get("name") == str(unreadable).replace("\x01", "\\x01")
    assert "gone\\x01&<\"'" in broken.find("testcase/error").get("message")


# --- Markdown -------------------------------------------------------------------------------------


def table_rows(markdown: str) -> list:
    """Cells of every table row (header and separator excluded), split at unescaped pipes."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.replace("\\|", "\0").strip("|").split("|")]
            rows.append([c.replace("\0", "\\|") for c in cells])
    return [row for row in rows if row[0] not in ("Status", "Module")]


def test_markdown_lists_only_what_needs_attention(modules):
    path = modules.build("img302-uint8-input")
    run = render("markdown", path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == f"### FAIL: `{path}`"
    assert "FORMAT_V3" in lines[2] and "32x32" in lines[2] and "N = 16" in lines[2]
    expected = [r for r in reference(path)["results"] if r["status"] in NOTEWORTHY]
    assert table_rows(run.stdout) == [["FAIL", "IMG302", "input-dtype", "{}", r["signature"], r["message"]]
                                      for r in expected]
    assert lines[-1].startswith(f"sigcheck: {len(expected)} fail, ")


def test_markdown_passing_module_has_no_table(modules):
    run = render("markdown", modules.build("fv-conformant"))
    assert run.returncode == 0
    assert run.stdout.startswith("### PASS: `")
    assert not any(line.startswith("|") for line in run.stdout.splitlines())
    assert "pass" in run.stdout.splitlines()[-1]


def test_markdown_escapes_cells_and_summarises_several_modules(modules, tmp_path):
    unreadable = tmp_path / "bad|name\n<b>"
    run = render("markdown", modules.build("fv-conformant"), modules.build("out405-train-output-dropout"),
                 unreadable)
    assert run.returncode == 2
    assert run.stdout.startswith("## sigcheck: ERROR (3 modules)")
    overview = table_rows(run.stdout.split("### ")[0])
    assert [row[1] for row in overview] == ["PASS", "FAIL", "ERROR"]
    assert all(len(row) == 7 for row in overview), "a | or newline in a module name broke the table"
    assert overview[2][0] == f"`{tmp_path}/bad\\|name <b>`"
    assert "bad\\|name<br>&lt;b&gt;: no such file or directory" in run.stdout  # shown as text, not HTML
    [dropout_row] = [row for row in table_rows(run.stdout) if row[0] == "FAIL"]
    assert dropout_row[1:4] == ["OUT405", "no-output-dropout", "{train}"]


# --- GitHub workflow commands ---------------------------------------------------------------------


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def test_github_one_error_command_per_failure(modules):
    path = Path(modules.build("img302-uint8-input"))
    run = render("github", path.name, cwd=path.parent)
    assert run.returncode == 1
    expected = [r for r in reference(path.name, cwd=path.parent)["results"] if r["status"] in NOTEWORTHY]
    assert run.stdout.splitlines()[:-1] == [
        f"::error file=img302-uint8-input/saved_model.pb,title=IMG302 input-dtype [{r['signature']}]::"
        f"{escape_data(r['message'])}" for r in expected]
    assert run.stdout.splitlines()[-1].startswith(f"sigcheck: img302-uint8-input: FAIL ({len(expected)} fail, ")


def test_github_escapes_properties_and_data(modules, tmp_path):
    odd = copy_module(modules, "img302-uint8-input", tmp_path / "m,o:d%ule")
    unreadable = tmp_path / "gone%\n::warning::injected"
    run = render("github", odd, unreadable)
    assert run.returncode == 2
    lines = run.stdout.splitlines()
    first = next(r for r in reference(odd)["results"] if r["status"] == "fail")
    file = escape_property(f"{odd}/saved_model.pb")
    assert "%2C" in file and "%3A" in file and "%25" in file
    assert lines[0] == f"::error file={file},title=IMG302 input-dtype [{first['signature']}]::" \
                       f"{escape_data(first['message'])}"
    [read_error] = [line for line in lines if "unreadable" in line and line.startswith("::")]
    title = "sigcheck%3A unreadable module"
    assert read_error.startswith(f"::error file={escape_property(str(unreadable))},title={title}::")
    assert "gone%25%0A::warning::injected" in read_error
    assert not any(line.startswith("::warning") for line in lines), "a newline in a message started a command"
    assert not lines[-1].startswith("::") and lines[-1].startswith("sigcheck: ")


def test_github_warnings_are_warning_commands(modules, warning_config):
    run = render("github", modules.build("img302-uint8-input"), config=warning_config)
    assert run.returncode == 0
    commands = run.stdout.splitlines()[:-1]
    assert commands and all(line.startswith("::warning file=") and "title=IMG302 input-dtype" in line
                            for line in commands)


# --- JUnit against junit-10.xsd ---------------------------------------------------------------------

# The structure of junit-10.xsd, the JUnit schema Jenkins' xunit plugin validates
# against (jenkinsci/xunit-plugin, .../types/model/xsd/junit-10.xsd), written out
# here as data: element -> (allowed attributes, required attributes, allowed children).
# Text content is allowed in failure/error/skipped/system-out/system-err only.
JUNIT_10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id",
                   "package", "file", "log", "url"}, {"name", "tests", "failures", "errors"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
    "testcase": ({"name", "time", "classname", "group"}, {"name"},
                 {"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError",
                  "system-out", "system-err"}),
    "failure": ({"type", "message"}, set(), set()),
    "error": ({"type", "message"}, set(), set()),
    "skipped": ({"type", "message"}, set(), set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
TEXT_ELEMENTS = {"failure", "error", "skipped", "system-out", "system-err"}
# SUREFIRE_TIME, the type of time on testsuites and testsuite.
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def junit_10_errors(element: ET.Element, path: str = "") -> list:
    """Where ``element`` breaks junit-10.xsd: unknown or missing attributes, children, text or times."""
    path = f"{path}/{element.tag}"
    if element.tag not in JUNIT_10:
        return [f"{path}: element not in the schema"]
    allowed, required, children = JUNIT_10[element.tag]
    errors = [f"{path}@{a}: attribute not allowed" for a in sorted(set(element.attrib) - allowed)]
    errors += [f"{path}@{a}: required attribute missing" for a in sorted(required - set(element.attrib))]
    if element.tag in ("testsuites", "testsuite") and "time" in element.attrib \
            and not SUREFIRE_TIME.fullmatch(element.get("time")):
        errors.append(f"{path}@time: {element.get('time')!r} is not a SUREFIRE_TIME")
    if element.tag not in TEXT_ELEMENTS and ((element.text or "").strip()
                                             or any((c.tail or "").strip() for c in element)):
        errors.append(f"{path}: text not allowed")
    for child in element:
        if child.tag not in children:
            errors.append(f"{path}/{child.tag}: child not allowed here")
        else:
            errors += junit_10_errors(child, path)
    return errors


def test_junit_10_check_catches_what_jenkins_rejects():
    """The structural check itself: the old ``skipped`` on <testsuites>, a stray attribute, a bad time."""
    bad = ET.fromstring('<testsuites skipped="1"><testsuite name="m" tests="1" failures="0" time="1e-3">'
                        '<testcase name="c" result="x"/></testsuite></testsuites>')
    assert junit_10_errors(bad) == [
        "/testsuites@skipped: attribute not allowed",
        "/testsuites/testsuite@errors: required attribute missing",
        "/testsuites/testsuite@time: '1e-3' is not a SUREFIRE_TIME",
        "/testsuites/testsuite/testcase@result: attribute not allowed",
    ]


@pytest.mark.parametrize("fixtures", [
    ["img302-uint8-input"], ["hub102-no-meta-graph"], ["hub102-no-empty-tags", "out405-train-output-dropout"],
    ["fv-conformant", "missing"],
])
def test_junit_validates_against_junit_10_xsd(modules, tmp_path, fixtures):
    paths = [tmp_path / name if name == "missing" else modules.build(name) for name in fixtures]
    _, root = junit(*paths)
    assert junit_10_errors(root) == []


def test_junit_warnings_validate_against_junit_10_xsd(modules, warning_config):
    _, root = junit(modules.build("img302-uint8-input"), config=warning_config)
    assert junit_10_errors(root) == []


def test_junit_classnames_have_no_spaces_or_braces(modules):
    paths = [modules.build(n) for n in ("hub102-no-empty-tags", "out405-train-output-dropout", "img302-uint8-input")]
    _, root = junit(*paths)
    classnames = [case.get("classname") for case in root.iter("testcase")]
    results = [r for p in paths for r in reference(p)["results"]]
    # Not vacuous: results about a tag set (no signature) are among them; they were "tag set {train}".
    assert any(r["tags"] is not None and r["signature"] is None for r in results)
    assert classnames and all(re.fullmatch(r"[A-Za-z0-9_./-]+", name) for name in classnames), classnames
    assert any(name.endswith(".tags_train") for name in classnames)


def test_junit_suites_carry_the_real_check_time(modules):
    paths = [modules.build(n) for n in ("fv-conformant", "img302-uint8-input")]
    _, root = junit(*paths)
    times = [float(suite.get("time")) for suite in root.findall("testsuite")]
    assert all(t > 0 for t in times), times  # reading and judging a real module takes milliseconds at least
    assert float(root.get("time")) == pytest.approx(sum(times), abs=0.002)


# --- concise ------------------------------------------------------------------------------------------

CONCISE = re.compile(r"(?P<path>[^:]+): (?P<where>[^:]+): (?P<code>[A-Z]{3}\d{3}) (?P<name>[a-z0-9-]+): (?P<text>.+)")


def test_concise_is_one_line_per_finding(modules):
    path = Path(modules.build("img302-uint8-input"))
    run = render("concise", path.name, cwd=path.parent)
    findings = [r for r in reference(path.name, cwd=path.parent)["results"] if r["status"] in NOTEWORTHY]
    lines = run.stdout.splitlines()
    assert run.returncode == 1 and len(lines) == len(findings) > 0
    for text, want in zip(lines, findings):
        match = CONCISE.fullmatch(text)
        assert match, text
        assert match["path"] == "img302-uint8-input" and match["where"] == f"{{}}/{want['signature']}"
        assert (match["code"], match["name"], match["text"]) == ("IMG302", "input-dtype", want["message"])


def test_concise_conforming_module_prints_nothing_and_unreadable_one_line(modules, tmp_path):
    assert render("concise", modules.build("fv-conformant")).stdout == ""
    run = render("concise", tmp_path / "missing")
    [line] = run.stdout.splitlines()
    assert run.returncode == 2 and line.startswith(f"{tmp_path / 'missing'}: could not be read (read): ")


def test_concise_warnings_and_tag_sets(modules, warning_config):
    warned = render("concise", modules.build("img302-uint8-input"), config=warning_config)
    assert warned.returncode == 0 and warned.stdout
    assert all(": IMG302 input-dtype: warning: " in line for line in warned.stdout.splitlines())
    train = render("concise", modules.build("out405-train-output-dropout")).stdout
    assert f"{modules.build('out405-train-output-dropout')}: {{train}}: OUT405 no-output-dropout: " in train


# --- --statistics -----------------------------------------------------------------------------------


def expected_counts(*paths) -> dict:
    counts = {}
    for path in paths:
        for result in reference(path)["results"]:
            if result["status"] in NOTEWORTHY:
                counts[result["rule"]] = counts.get(result["rule"], 0) + 1
    return counts


def test_statistics_counts_findings_per_rule(modules):
    paths = [modules.build(n) for n in ("img302-uint8-input", "hub101-missing-module-def", "fv-conformant")]
    run = run_sigcheck_inprocess("--static", "--statistics", *paths)
    assert run.returncode == 1  # the verdict is the run's, whatever is printed
    rows = [line.split("\t") for line in run.stdout.splitlines()]
    expected = expected_counts(*paths)
    assert {code: int(count) for count, code, _ in rows} == expected and len(expected) >= 2
    assert [int(count) for count, _, _ in rows] == sorted(expected.values(), reverse=True)
    names = {r.code: r.name for r in load_rules()}
    assert all(name == names[code] for _, code, name in rows)
    assert "PASS" not in run.stdout and "saved_model.pb" not in run.stdout


def test_statistics_as_json(modules):
    paths = [modules.build(n) for n in ("img302-uint8-input", "hub101-missing-module-def")]
    rows = run_sigcheck_inprocess("--static", "--statistics", "--format", "json", *paths).json
    assert {row["code"]: row["count"] for row in rows} == expected_counts(*paths)
    assert run_sigcheck_inprocess("--static", "--statistics", "--format", "json", modules.build("fv-conformant")).json == []


# --- GitLab Code Quality ----------------------------------------------------------------------------

GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def gitlab_issue_errors(issue: dict) -> list:
    """What GitLab's Code Quality report needs of an issue (docs.gitlab.com/ci/testing/code_quality)."""
    errors = [f"{key} missing or empty" for key in ("description", "check_name", "fingerprint")
              if not isinstance(issue.get(key), str) or not issue[key]]
    if issue.get("severity") not in GITLAB_SEVERITIES:
        errors.append(f"severity {issue.get('severity')!r}")
    location = issue.get("location", {})
    if not isinstance(location.get("path"), str) or location["path"].startswith(("/", "file:")):
        errors.append(f"location.path {location.get('path')!r} is not repository-relative")
    if not isinstance(location.get("lines", {}).get("begin"), int) or location["lines"]["begin"] < 1:
        errors.append("location.lines.begin missing")
    return errors


def test_gitlab_code_quality_report(modules, tmp_path):
    repo = tmp_path / "repo"
    module = copy_module(modules, "img302-uint8-input", repo / "exports" / "model")
    run = render("gitlab", module, repo / "exports" / "missing", cwd=repo)
    issues = json.loads(run.stdout)
    assert run.returncode == 2 and isinstance(issues, list)
    assert [e for issue in issues for e in gitlab_issue_errors(issue)] == []
    findings = [r for r in reference(module)["results"] if r["status"] in NOTEWORTHY]
    violations = [i for i in issues if i["check_name"] == "IMG302"]
    assert len(violations) == len(findings) > 0
    assert all(i["severity"] == "major" and i["location"]["path"] == "exports/model/saved_model.pb"
               for i in violations)
    assert all(f["message"] in i["description"] for i, f in zip(violations, findings))
    [unreadable] = [i for i in issues if i["check_name"] == "sigcheck/unreadable"]
    assert unreadable["severity"] == "blocker" and unreadable["location"]["path"] == "exports/missing"
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # GitLab shows one issue per fingerprint


def test_gitlab_severities_follow_status_and_rule(modules, warning_config):
    unsafe = json.loads(render("gitlab", modules.build("sec601-write-file")).stdout)
    assert {i["severity"] for i in unsafe if i["check_name"] == "SEC601"} == {"critical"}
    warned = json.loads(render("gitlab", modules.build("img302-uint8-input"), config=warning_config).stdout)
    assert warned and {i["severity"] for i in warned} == {"minor"}
    assert json.loads(render("gitlab", modules.build("fv-conformant")).stdout) == []


def test_gitlab_fingerprints_are_stable_across_runs(modules):
    path = modules.build("img302-uint8-input")
    first, second = (json.loads(render("gitlab", path).stdout) for _ in range(2))
    assert [i["fingerprint"] for i in first] == [i["fingerprint"] for i in second]


# --- scan's JSON shape ------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [(), ("--cache", "CACHE")])
def test_scan_of_one_module_gives_the_many_module_shape(modules, tmp_path, extra):
    root = tmp_path / "exports"
    copy_module(modules, "fv-conformant", root / "only")
    extra = tuple(str(tmp_path / "cache") if arg == "CACHE" else arg for arg in extra)
    document = run_sigcheck("scan", "--static", "--format", "json", *extra, root).json
    assert document["schema"] == "sigcheck-reports/1"
    assert [r["module"] for r in document["reports"]] == [str(root / "only")]
    assert document["summary"]["modules"] == 1
