"""Rule documentation is generated from rules/*.toml and kept in sync."""

from __future__ import annotations

from helpers import REPO, run_sigcheck_inprocess
from sigcheck.ruledocs import check_location, rules_markdown
from sigcheck.rules import _parsed, _toml, load_rules, ruletable_source


def test_docs_rules_md_is_up_to_date():
    on_disk = (REPO / "docs" / "rules.md").read_text()
    assert on_disk == rules_markdown(), (
        "docs/rules.md is out of date: run `python -m sigcheck.ruledocs > docs/rules.md`")


def test_ruletable_is_up_to_date():
    """Start-up reads rules/*.toml from this table when it is fresh (a stale one is only slower)."""
    on_disk = (REPO / "sigcheck" / "ruletable.py").read_text()
    assert on_disk == ruletable_source(), (
        "sigcheck/ruletable.py is out of date: run `python -m sigcheck.rules > sigcheck/ruletable.py`")


def test_a_stale_ruletable_entry_is_parsed_not_used():
    content = (REPO / "rules" / "hub.toml").read_bytes()
    assert _parsed(content, "hub.toml") == _toml(content, "hub.toml")
    edited = content.replace(b"hub.Module", b"hub.module", 1)
    assert edited != content
    assert _parsed(edited, "hub.toml") == _toml(edited, "hub.toml") != _toml(content, "hub.toml")


def test_protofiles_is_up_to_date():
    """Start-up takes the encoded message schema from sigcheck/facts/protofiles.py when it is fresh
    (a stale one is only slower: protos encodes the schema itself)."""
    from sigcheck.facts import protos

    on_disk = (REPO / "sigcheck" / "facts" / "protofiles.py").read_text()
    assert on_disk == protos.protofiles_source(), (
        "sigcheck/facts/protofiles.py is out of date: run `python -c \"from sigcheck.facts.protos import "
        "protofiles_source as s; print(s(), end='')\" > sigcheck/facts/protofiles.py`")


def test_a_stale_protofiles_is_encoded_not_used(monkeypatch):
    from sigcheck.facts import protofiles, protos

    fresh = protos._files()
    assert fresh == (protofiles.TF, protofiles.HUB)
    monkeypatch.setattr(protofiles, "TF", b"stale")
    monkeypatch.setattr(protofiles, "SCHEMA_CRC", protofiles.SCHEMA_CRC + 1)
    assert protos._files() == fresh


def test_every_rule_has_a_docs_entry_with_both_examples():
    text = rules_markdown()
    for rule in load_rules():
        section = text.split(f"## {rule.code} {rule.name}\n", 1)[1].split("\n## ", 1)[0]
        assert "### Why" in section and "### Passes" in section and "### Fails" in section
        assert rule.example_pass in section and rule.example_fail in section
        for option in rule.options:
            assert f"`{option}`" in section


def test_explain_prints_a_rules_documentation():
    run = run_sigcheck_inprocess("explain", "img302")
    assert run.returncode == 0
    for part in ("IMG302 input-dtype", "Why:", "Passes:", "Fails:", "images uint8 [?, 224, 224, 3]",
                 "https://www.tensorflow.org/hub/common_signatures/images#input"):
        assert part in run.stdout
    options = run_sigcheck_inprocess("explain", "SEC601")
    assert "extra_allowed_ops = []" in options.stdout
    unknown = run_sigcheck_inprocess("explain", "XYZ999")
    assert unknown.returncode == 2 and "unknown rule" in unknown.error_lines[0]


def test_explain_says_where_each_check_lives():
    assert "Check: sigcheck/checks/img.py:input_dtype\n" in run_sigcheck_inprocess("explain", "IMG302").stdout
    for rule in load_rules():
        path, _, function = check_location(rule).partition(":")
        assert f"\ndef {function}(" in (REPO / path).read_text(), rule.code


def test_readme_documents_every_rule_and_exit_code():
    readme = (REPO / "README.md").read_text()
    for rule in load_rules():
        assert rule.code in readme, rule.code
    for code in ("0", "1", "2", "3"):
        assert f"| {code} |" in readme


def test_readme_shows_a_github_actions_job_and_a_pytest_setup():
    readme = (REPO / "README.md").read_text()
    job = readme.split("jobs:\n  sigcheck:", 1)[1].split("```", 1)[0]
    assert "upload-sarif" in job and "--report junit:" in job and "--report sarif:" in job
    runs = [line for line in job.splitlines() if line.strip().startswith(("sigcheck ", "run: sigcheck"))]
    assert len(runs) == 1, "the job must check the modules once, not once per format"
    assert "sigcheck_modules" in readme
