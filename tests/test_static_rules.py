"""Every static rule on every fixture: exactly the expected verdicts, no TensorFlow.

Runs `sigcheck --static --format json` per fixture module (in-process through
``cli.main``; one subprocess checks them all to prove that no TensorFlow is imported) and
compares each rule's verdict with the recipe's expectations; a violator must
break its rule and nothing else that the conventions let it keep.
"""

from __future__ import annotations

import pytest

from helpers import (assert_snapshot, normalised_report, rule_verdicts, run_sigcheck, run_sigcheck_inprocess,
                     stale_snapshots)
import sigcheck.fixtures
from sigcheck.rules import load_rules

CATALOG = sigcheck.fixtures.catalog
RECIPES = sigcheck.fixtures.RECIPES
RULES = load_rules()
STATIC = [r for r in RULES if r.stage == "static"]
CONFORMANT = ("fv-conformant", "classifier-conformant", "fv-no-image-info", "tf2-fv-conformant",
              "tf2-classifier-conformant", "tf2-text-hashed-embedding", "tf2-text-encoder")
TEXT_CONFORMANT = ("text-conformant",)


@pytest.fixture(scope="module")
def static_runs(modules, once_per_run):
    cache = {}

    def run(name):
        if name not in cache:  # one run per fixture, whichever xdist worker asks first
            cache[name] = once_per_run(f"static-{name}", lambda: run_sigcheck_inprocess(
                "--static", "--format", "json", modules.build(name)))
        return cache[name]

    return run


def static_violators(code: str) -> list:
    return [r for r in RECIPES
            if CATALOG.expected_verdicts(r, RULES, static=True)[code] in ("fail", "warn") and code in r.violates]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_static_verdicts_match_the_recipe(recipe, static_runs):
    run = static_runs(recipe.name)
    report = run.json
    assert report["schema"] == "sigcheck-report/1"
    assert report["facts"]["module_format"] == recipe.format
    expected = CATALOG.expected_verdicts(recipe, RULES, static=True)
    assert rule_verdicts(report) == expected
    failing = "fail" in expected.values()
    # every TF2 model is judged (the Reusable SavedModel API rules), whatever its kind
    applicable = recipe.module_kind != "other" or recipe.format == "tf2-saved-model"
    assert report["verdict"] == ("fail" if failing else "pass" if applicable else "not-applicable")
    if recipe.format != "tf2-saved-model":
        assert report["facts"]["kind"] == (recipe.module_kind if report["facts"]["tag_sets"] else "other")
    assert run.returncode == (1 if failing else 0)


def test_one_interpreter_checks_every_fixture_statically_without_tensorflow(modules, static_runs):
    """The real command over every fixture at once, in a fresh interpreter: no TensorFlow is
    imported, and each module gets the verdict its own (in-process) run gave."""
    paths = [modules.build(r.name) for r in RECIPES]
    run = run_sigcheck("--static", "--format", "json", *paths)
    assert not run.tensorflow_imported, "sigcheck --static imported tensorflow"
    verdicts = {r["module"]: r["verdict"] for r in run.json["reports"]}
    assert verdicts == {path: static_runs(r.name).json["verdict"] for r, path in zip(RECIPES, paths)}
    assert run.returncode == max(static_runs(r.name).returncode for r in RECIPES)


@pytest.mark.parametrize("rule", STATIC, ids=lambda r: r.code)
def test_each_static_rule_passes_conformant_and_fails_its_violators(rule, static_runs):
    violators = static_violators(rule.code)
    assert violators, f"{rule.code} has no failing fixture in fixtures/catalog.py"
    def judges(name):
        return CATALOG.expected_verdicts(sigcheck.fixtures.recipe(name), RULES, static=True)[rule.code] != "skip"

    # The conformant fixtures the rule judges (a rule of one format or one TF2 kind skips the others);
    # a rule that judges none of them passes some other fixture (the TF2 text APIs: one fixture per API).
    judged = [n for n in CONFORMANT + TEXT_CONFORMANT if judges(n)] or [
        r.name for r in RECIPES if r.name.startswith("tf2-") and judges(r.name)][:1]
    assert judged, f"{rule.code} passes no conformant fixture"
    for name in judged:
        assert rule_verdicts(static_runs(name).json)[rule.code] == "pass", name
    violated = "fail" if rule.severity == "error" else "warn"
    for recipe in violators:
        results = [r for r in static_runs(recipe.name).json["results"] if r["rule"] == rule.code]
        failed = [r for r in results if r["status"] == violated]
        assert failed, f"{recipe.name} does not {violated} {rule.code}"
        for result in failed:
            assert result["message"] and result["spec"] == rule.spec and result["name"] == rule.name


def test_messages_say_what_was_found_and_expected(static_runs):
    def messages(name, code, status="fail"):
        return [r["message"] for r in static_runs(name).json["results"]
                if r["rule"] == code and r["status"] == status]

    assert any("uint8" in m and "float32" in m for m in messages("img302-uint8-input", "IMG302"))
    assert any("NCHW" in m for m in messages("img303-nchw", "IMG303"))
    assert any("64x64" in m and "[?, 32, 32, 3]" in m for m in messages("img306-info-disagrees", "IMG306"))
    assert any("ValueError" in m for m in messages("img306-no-size", "IMG306"))
    assert any("WriteFile" in m and "write_marker" in m for m in messages("sec601-write-file", "SEC601"))
    assert any("Abort" in m for m in messages("sec601-abort", "SEC601"))
    assert any("global_step" in m for m in messages("hub104-global-step", "HUB104"))
    assert any("divides the input by 255" in m for m in messages("img307-div255", "IMG307", "warn"))
    assert any("default_scaled:0" in m and "TinyNet/pool:0" in m for m in messages("sig203-default-other-tensor",
                                                                                  "SIG203"))
    assert any("only in the graph of {train}" in m for m in messages("hub106-tensor-of-other-tag-set", "HUB106"))
    assert any("in no graph" in m and "TinyNet/missing:0" in m for m in messages("hub106-missing-tensor", "HUB106"))
    assert any("64x64" in m and "32x32" in m for m in messages("hub103-train-attachment-differs", "HUB103"))
    assert any("not in the GLOBAL_VARIABLES collection" in m
               for m in messages("hub105-variables-not-global-with-checkpoint", "HUB105"))
    dropout = messages("out405-train-output-dropout", "OUT405")
    assert len(dropout) == 1 and "{train}" in dropout[0] and "TinyNet/pool" in dropout[0]


def test_the_static_half_cannot_see_disguised_dropout(static_runs):
    """out405-hidden-train-dropout is there for the dynamic half (tests/test_runtime_rules.py)."""
    verdicts = rule_verdicts(static_runs("out405-hidden-train-dropout").json)
    assert verdicts["OUT405"] == "pass"


def test_results_name_their_tag_set_and_signature(static_runs):
    results = static_runs("classifier-conformant").json["results"]
    img302 = {(tuple(r["tags"]), r["signature"]) for r in results if r["rule"] == "IMG302"}
    assert img302 == {((), "default"), ((), "image_classification"), ((), "image_feature_vector")}
    out405 = {tuple(r["tags"]) for r in results if r["rule"] == "OUT405"}
    assert out405 == {(), ("train",)}
    hub101 = [r for r in results if r["rule"] == "HUB101"]
    assert hub101[0]["tags"] is None and hub101[0]["signature"] is None
    located = [r for r in results if r["rule"] == "IMG302"]
    assert located[0]["location"] == "tags[]/signatures/default/inputs/images"


def test_facts_describe_the_module(static_runs):
    facts = static_runs("classifier-conformant").json["facts"]
    assert facts["format"] == "FORMAT_V3"
    assert facts["tag_sets"] == [[], ["train"]]
    assert facts["image_signatures"] == ["default", "image_classification", "image_feature_vector"]
    assert facts["image_size"] == {"height": 32, "width": 32}
    assert facts["image_size_source"] == "image_module_info"
    assert facts["num_outputs"] == 10
    default = facts["meta_graphs"][0]["signatures"]["default"]
    assert default["inputs"] == [{"key": "images", "name": "images:0", "dtype": "float32",
                                  "shape": [None, 32, 32, 3], "encoding": "dense"}]
    no_info = static_runs("fv-no-image-info").json["facts"]
    assert no_info["image_size_source"] == "input_shape" and no_info["image_module_info"] is None


def test_a_broken_module_def_fails_hub101_and_every_other_rule_still_runs(static_runs):
    for name in ("hub101-missing-module-def", "hub101-garbage-module-def"):
        run = static_runs(name)
        assert run.returncode == 1
        verdicts = rule_verdicts(run.json)
        assert verdicts.pop("HUB101") == "fail"
        assert all(verdicts[r.code] == "pass" for r in STATIC
                   if r.code != "HUB101" and r.scope != "text" and "tf1-hub" in r.formats)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_static_report_matches_its_snapshot(recipe, static_runs, modules, update_snapshots):
    """The whole JSON report, so that a changed message or result shows in review."""
    report = normalised_report(static_runs(recipe.name).json, modules.root)
    assert_snapshot(f"static/{recipe.name}", report, update_snapshots)


def test_every_static_snapshot_belongs_to_a_fixture():
    assert not stale_snapshots("static", [r.name for r in RECIPES])
