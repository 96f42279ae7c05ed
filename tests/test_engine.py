"""The rule engine: discovery from rules/*.toml, stamping, crash isolation."""

from __future__ import annotations

import dataclasses

from sigcheck.checks import violated
from sigcheck.engine import evaluate, select_rules
from sigcheck.facts import read_module
from sigcheck.rules import CODE_RE, NAME_RE, load_rules, rule_by_code


def test_every_rule_is_declared_once_with_complete_metadata():
    rules = load_rules()
    codes = [r.code for r in rules]
    assert len(codes) == len(set(codes))
    for rule in rules:
        assert CODE_RE.match(rule.code) and NAME_RE.match(rule.name)
        assert rule.summary and rule.why and rule.example_pass and rule.example_fail
        assert rule.spec_url.startswith("https://www.tensorflow.org/hub/")
        assert callable(rule.check)


def test_a_rules_tf2_text_api_is_declared_and_validated():
    import pytest

    from sigcheck.rules import RuleDefinitionError, _rule_from_entry

    assert rule_by_code("TXT752").api == "preprocessor" and rule_by_code("TXT757").api == "encoder"
    assert rule_by_code("TXT711").api == "embedding" and rule_by_code("OUT402").api == ""
    entry = {k: getattr(rule_by_code("TXT752"), k) for k in ("code", "name", "category", "severity", "stage",
                                                              "scope", "summary", "why", "spec",
                                                              "example_pass", "example_fail")}
    assert _rule_from_entry({**entry, "api": "encoder"}, "t.toml").api == "encoder"
    with pytest.raises(RuleDefinitionError, match="api must be one of"):
        _rule_from_entry({**entry, "api": "tokenizer"}, "t.toml")


def test_codes_are_the_public_contract():
    expected = {
        "HUB101": "module-def", "HUB102": "saved-model", "HUB103": "tag-consistency", "HUB104": "collections",
        "HUB106": "signature-tensors", "HUB107": "well-formed-graph",
        "SIG201": "default-signature", "SIG202": "image-signature", "SIG203": "default-matches-task",
        "IMG301": "input-name", "IMG302": "input-dtype", "IMG303": "input-layout", "IMG304": "input-batch",
        "IMG305": "input-size", "IMG306": "expected-size", "OUT401": "default-output", "OUT402": "output-dtype",
        "OUT403": "output-shape", "OUT404": "static-size", "OUT405": "no-output-dropout",
        "OUT406": "extra-keys-prefixed", "SEC601": "unsafe-ops",
    }
    for code, name in expected.items():
        assert rule_by_code(code).name == name


def test_select_and_ignore_take_prefixes():
    rules = load_rules()
    assert {r.code for r in select_rules(rules, ("OUT40",), ())} == {r.code for r in rules if r.code[:5] == "OUT40"}
    assert not any(r.code.startswith("IMG") for r in select_rules(rules, (), ("IMG",)))


def test_a_crashing_check_becomes_an_error_result_and_the_run_goes_on(modules):
    facts = read_module(modules.build("fv-conformant"))

    def crashes(ctx, options):
        yield violated("found something first")
        raise ZeroDivisionError("boom")

    broken = dataclasses.replace(rule_by_code("IMG302"), check=crashes)
    results = evaluate(facts, [broken, rule_by_code("IMG303")])
    statuses = [(r.rule, r.status) for r in results]
    assert ("IMG302", "fail") in statuses and ("IMG302", "error") in statuses
    error = next(r for r in results if r.status == "error")
    assert "ZeroDivisionError: boom" in error.message
    assert [r.status for r in results if r.rule == "IMG303"] == ["pass", "pass"]


def test_severity_is_stamped_by_the_engine(modules):
    facts = read_module(modules.build("img302-uint8-input"))
    results = evaluate(facts, [rule_by_code("IMG302")], severities={"IMG302": "warning"})
    assert {(r.status, r.severity) for r in results} == {("warn", "warning")}


def test_a_module_that_was_not_run_gives_every_runtime_rule_one_skip_with_one_reason():
    """No observations and no reason from the runtime stage (an in-process caller, or a
    stage that did not run): the engine skips each runtime rule once, before its check."""
    from sigcheck.engine import NOT_RUN
    from sigcheck.testing import module

    rules = load_rules()
    # the runtime rules that judge module() (a TF1 image module): text and TF2 rules skip it for their scope
    runtime = [r for r in rules if r.stage == "runtime" and r.scope != "text" and "tf1-hub" in r.formats]
    assert runtime
    for rule in runtime:
        results = evaluate(module(), (rule,))
        assert [(r.status, r.message) for r in results] == [("skip", NOT_RUN)], rule.code
        given = evaluate(module(), (rule,), runtime_skip_reason="runtime checks not run (--static)")
        assert [r.message for r in given] == ["runtime checks not run (--static)"], rule.code
        failed = evaluate(module(), (rule,), runtime_error="the worker died")
        assert [r.status for r in failed] == ["error"], rule.code
    # static rules, with or without a runtime half, judge what they can without observations
    static = [r for r in rules if r.stage == "static"]
    assert not any(r.message == NOT_RUN for r in evaluate(module(), static))
