"""Fidelity: sigcheck and its fixture recipes against the genuine TF1 Hub client.

tensorflow-hub 0.15.0 on tensorflow-cpu 2.15.1 is the last release of the
consumer API whose decisions sigcheck mirrors.  It runs in its own cached
virtualenv (env.py); driver.py starts client_probe.py there once for all
modules: every fixture recipe, the edge cases of variants.py, the published
half_plus_two module from ../shared, and the modules of produced.py, which
the probe first exports with the genuine producer.  Then, module by module,
the client's behaviour and sigcheck's report (``--static --format json``)
must agree:

* the client refuses to load or instantiate a module  <=>  sigcheck fails the
  matching rule (HUB101 ModuleDef, HUB102 tag sets, HUB104 collections; HUB105
  variables, judged by a full sigcheck run since it is a runtime rule);
* tag sets, signature names and tensor infos (dtype, shape, sparse) are equal;
* get_expected_image_size raises => IMG306 fails, with IMG301/IMG303/IMG305;
  it returns a size => sigcheck reports that size (facts and IMG306);
* get_num_image_channels agrees with IMG303;
* hub.Module accepts the documented consumer batch (float32 [B, H, W, 3] at
  the expected size) for every signature whose input passes IMG301-IMG306,
  and refuses it only where one of them fails;
* outputs the client computes differ from their declaration only where the
  recipe and a full sigcheck run say RUN501 fails; conformant modules run
  with default [B, N]; a module that harms the client's process fails SEC601;
* the genuine producer's modules get exactly the verdicts produced.py lists,
  and fixtures/writer.py lays out a module as the genuine exporter does.

Run with ``pytest -m compat tests/compat`` (plain ``pytest`` deselects it).
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

import driver
import env as oldclient
import produced
import variants
from helpers import SHARED, rule_verdicts, run_sigcheck
import sigcheck.fixtures
from sigcheck.rules import load_rules

pytestmark = pytest.mark.compat

FIXTURES = sigcheck.fixtures
RULES = load_rules()
USES_RUNTIME = {r.code: r.uses_runtime for r in RULES}
# TF2 SavedModels are not TF1 Hub modules: tests/test_tf2_client.py compares them with the TF2 client.
RECIPES = tuple(r.name for r in FIXTURES.RECIPES if r.format != "tf2-saved-model")
PRODUCED = tuple(m.name for m in produced.MODULES)
# Real TF1 Hub modules from public repositories (none an image module), in ../shared:
# name -> a module directory or an archive (extracted first).
REALWORLD = SHARED / "data" / "realworld"
PUBLISHED = {
    "half-plus-two-v1": REALWORLD / "tensorflow_hub__half_plus_two_v1_tgz" / "half_plus_two_v1.tar.gz",
    "hub-module-v1-mini": REALWORLD / "tensorflow_hub__hub_module_v1_mini",
    "saved-model-v2-mini": REALWORLD / "tensorflow_hub__saved_model_v2_mini",
    **{f"dm21{v.lower()}": REALWORLD / f"deepmind-research__DM21{v}" for v in ("", "m", "mc", "mu")},
}
VARIANTS = tuple(variants.VARIANTS)
EVERY_MODULE = RECIPES + VARIANTS + PRODUCED + tuple(PUBLISHED)
CONFORMANT = ("fv-conformant", "classifier-conformant", "fv-no-image-info")
BATCH = 2
LOAD_RULES = ("HUB101", "HUB102", "HUB104")  # static; HUB105 is judged by a full run
INPUT_RULES = ("IMG301", "IMG302", "IMG303", "IMG304", "IMG305", "IMG306")
BAD = ("fail", "error")

# What the client raised -> the rule that stands for it:
# (type, message fragment, where: the innermost tensorflow_hub function, rule).
REFUSALS = (
    ("NotFoundError", "tfhub_module.pb", "", "HUB101"),  # no ModuleDef
    ("DecodeError", "", "_get_module_def_proto", "HUB101"),  # the ModuleDef does not parse
    ("ValueError", "Unsupported module def format", "", "HUB101"),
    ("ValueError", "Unsupported features", "", "HUB101"),
    ("ValueError", "used repeatedly", "", "HUB102"),  # a tag set twice
    ("KeyError", "has no graph with tags", "", "HUB102"),  # no {} graph for spec calls without tags
    ("ValueError", "No such graph variant", "", "HUB102"),  # no {} graph for hub.Module(spec)
    ("ValueError", "Unsupported collections", "", "HUB104"),
    ("DecodeError", "", "get_attached_bytes_map", "HUB104"),  # hub_module_attachments: not ModuleAttachments
    ("ValueError", "Internal CollectionDef for attached messages", "", "HUB104"),  # ... not a bytes_list
    # TensorFlow cannot import the graph; SEC601 fails the hostile/malformed fixtures that do this
    ("ValueError", "a different function with the same name already exists", "", "SEC601"),
    ("ValueError", "Unknown input node", "", "SEC601"),
    ("ValueError", "Node name contains invalid characters", "", "SEC601"),
    ("NotFoundError", "TensorSliceReader", "", "HUB105"),  # hub.Module(spec): no checkpoint
    ("ValueError", "from checkpoint reader", "", "HUB105"),  # hub.Module(spec): checkpoint does not fit
    ("ValueError", "is not fully defined", "", "HUB107"),  # importing the graph: a Const's shape is invalid
    ("NotFoundError", "Op type not registered", "", "HUB108"),  # an op of a library TensorFlow has not loaded
    ("ValueError", "Op type not registered", "", "HUB108"),
)


# --- the two sides ----------------------------------------------------------

@pytest.fixture(scope="session")
def client_python():
    try:
        return oldclient.ensure()
    except oldclient.Unavailable as exc:
        pytest.skip(f"the TF1 Hub client cannot be installed for this Python: {exc}")
    except oldclient.BuildFailed as exc:
        pytest.fail(f"building the old-client virtualenv failed:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def fixture_dirs(modules):
    return {name: modules.build(name) for name in RECIPES}


@pytest.fixture(scope="session")
def variant_dirs(fixture_dirs, tmp_path_factory):
    from sigcheck.runtime.tfimport import quiet_native_stderr

    root = tmp_path_factory.mktemp("variants")
    with quiet_native_stderr():
        return {name: variants.build(name, fixture_dirs[base], str(root / name))
                for name, (base, _, _) in variants.VARIANTS.items()}


@pytest.fixture(scope="session")
def published_dirs(tmp_path_factory):
    """The published modules ../shared has, extracted (a fresh clone has no ../shared)."""
    found = {}
    for name, source in PUBLISHED.items():
        if source.is_dir():
            found[name] = str(source)  # read in place: neither side writes into a module
        elif source.is_file():
            dest = tmp_path_factory.mktemp(name)
            with tarfile.open(source) as tar:
                tar.extractall(dest, filter="data")
            found[name] = str(dest)
    return found


@pytest.fixture(scope="session")
def probed(client_python, fixture_dirs, variant_dirs, published_dirs, tmp_path_factory):
    """What the client did with every module: one probe process for all of them."""
    markers = {name: FIXTURES.marker_path(path) for name, path in fixture_dirs.items()
               if FIXTURES.recipe(name).marker}
    for marker in markers.values():
        if os.path.exists(marker):
            os.remove(marker)
    try:
        report = driver.run_probe(client_python,
                                  [*fixture_dirs.values(), *variant_dirs.values(), *published_dirs.values()],
                                  tmp_path_factory.mktemp("produced"), batch=BATCH)
    except driver.ProbeFailed as exc:
        pytest.fail(str(exc), pytrace=False)
    report["markers_written"] = {name: os.path.exists(m) for name, m in markers.items()}
    return report


@dataclass
class Subject:
    """One module as both sides see it."""

    name: str
    path: str
    client: dict = field(repr=False)  # the probe's record
    report: dict = field(repr=False)  # sigcheck --static --format json
    full: dict = field(default_factory=dict)  # rule -> verdict of a full run selecting it

    @property
    def facts(self) -> dict:
        return self.report["facts"]

    @property
    def verdicts(self) -> dict:
        return rule_verdicts(self.report)

    @property
    def recipe(self):
        return FIXTURES.recipe(self.name) if self.name in RECIPES else None

    def statuses(self, rule: str, signature: Optional[str] = None, tags=()) -> set:
        return {r["status"] for r in self.results(rule, signature, tags)}

    def results(self, rule: str, signature: Optional[str] = None, tags=()) -> list:
        return [r for r in self.report["results"] if r["rule"] == rule and r["tags"] == list(tags)
                and (signature is None or r["signature"] == signature)]

    def verdict(self, rule: str) -> Optional[str]:
        """The rule's verdict; rules that use inference from a full run selecting only them."""
        if not USES_RUNTIME[rule]:
            return self.verdicts.get(rule)
        if rule not in self.full:
            self.full[rule] = rule_verdicts(_sigcheck(self.name, "--select", rule, self.path)).get(rule)
        return self.full[rule]


def _sigcheck(name: str, *args) -> dict:
    run = run_sigcheck(*args[:-1], "--format", "json", args[-1])
    if run.returncode not in (0, 1):
        pytest.fail(f"sigcheck exited {run.returncode} on {name}: {run.stderr.strip()[-2000:]}", pytrace=False)
    return run.json


@pytest.fixture(scope="session")
def subject(fixture_dirs, variant_dirs, published_dirs, probed):
    paths = {**fixture_dirs, **variant_dirs, **published_dirs}
    paths.update({name: entry["path"] for name, entry in probed["produced"].items()})
    cache = {}

    def get(name: str) -> Subject:
        if name in PUBLISHED and name not in paths:
            pytest.skip(f"{PUBLISHED[name]} is absent (it ships with the project's CI, not the repository)")
        if name not in cache:
            entry = probed["produced"].get(name, {})
            if "error" in entry:
                pytest.fail(f"the genuine producer could not export {name}: {entry['error']}", pytrace=False)
            report = _sigcheck(name, "--static", paths[name])
            cache[name] = Subject(name, paths[name], probed["modules"][paths[name]], report)
        return cache[name]

    return get


def refusal(record: dict):
    """(rule, what the client did) if the client refuses the module, else (None, None)."""
    for step, outcome in (("hub.load_module_spec", record["load"]),
                          ("spec.get_signature_names()", record.get("default_tags", {}).get("signature_names")),
                          ("hub.Module(spec)", record.get("module_default"))):
        if outcome and "error" in outcome:
            error = outcome["error"]
            if error["type"] == "ClientCrashed":
                # The client process died (e.g. TensorFlow segfaults instantiating a recursive
                # function): not a refusal to load, but a module that crashes whoever runs it,
                # which sigcheck's worker contains and reports through the runtime rules.
                return None, None
            said = f"{step} raised {error['type']} in {error['where']}: {error['message']}"
            for kind, fragment, where, rule in REFUSALS:
                if error["type"] == kind and fragment in error["message"] and where in (error["where"] or ""):
                    return rule, said
            pytest.fail(f"unmapped client refusal (add it to REFUSALS): {said}", pytrace=False)
    return None, None


def loaded(s: Subject) -> Subject:
    """``s`` if the client loads it far enough to list signatures, else skip."""
    if "error" in s.client["load"]:
        pytest.skip(f"the client refuses to load {s.name}: {s.client['load']['error']}")
    return s


def default_graph(s: Subject) -> Subject:
    """``s`` if the client has a {} graph and sigcheck finds image signatures, else skip."""
    names = loaded(s).client["default_tags"]["signature_names"]
    if "error" in names:
        pytest.skip(f"the client has no {{}} graph in {s.name}: {names['error']}")
    if not s.facts["image_signatures"]:
        pytest.skip(f"sigcheck finds no image signature in {s.name}")
    return s


def outcomes(s: Subject):
    """(tags, signature, outcome) of every signature the client applied."""
    for applied in s.client.get("apply", []):
        for name, outcome in applied["signatures"].items():
            yield applied["tags"], name, outcome


# --- agreement, module by module ---------------------------------------------

@pytest.mark.parametrize("name", EVERY_MODULE)
def test_client_refuses_exactly_where_sigcheck_fails_a_load_rule(name, subject):
    s = subject(name)
    rule, said = refusal(s.client)
    failed = sorted(c for c in LOAD_RULES if s.verdict(c) in BAD)
    if s.facts["module_format"] == "tf2-saved-model":
        # hub.Module cannot load a TF2 SavedModel; sigcheck judges it by the TF2 rules instead
        assert rule is not None and not failed, f"{name}: client refusal {said!r}, sigcheck fails {failed}"
        return
    if rule is None:
        assert not failed, f"the client loads and instantiates {name}, but sigcheck fails {failed}"
        if name in CONFORMANT + produced.CONFORMANT:
            assert s.verdict("HUB105") == "pass", f"hub.Module restores {name}'s variables; HUB105 disagrees"
    else:
        assert s.verdict(rule) in BAD, f"{said}; sigcheck's {rule} is {s.verdict(rule)} (static: {failed})"


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_tag_sets_signatures_and_tensor_infos_agree(name, subject):
    s = loaded(subject(name))
    client = {tuple(g["tags"]): {sig: info.get("value", info) for sig, info in g["signatures"].items()}
              for g in s.client["graphs"]}
    ours = {tuple(m["tags"]): {sig: {kind: {t["key"]: {"dtype": t["dtype"], "shape": t["shape"],
                                                         "is_sparse": t["encoding"] == "sparse"}
                                            for t in info[kind]}
                                     for kind in ("inputs", "outputs")}
                               for sig, info in m["signatures"].items()}
            for m in s.facts["meta_graphs"]}
    assert sorted(s.client["tag_sets"]) == sorted(s.facts["tag_sets"])
    assert ours == client


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_expected_image_size_agrees(name, subject):
    s = default_graph(subject(name))
    for index, sig in enumerate(s.facts["image_signatures"]):
        client = s.client["expected_image_size"][sig]
        img306 = s.results("IMG306", sig)
        assert img306, f"no IMG306 result for {sig}"
        if "error" in client:
            said = f"get_expected_image_size(spec, {sig!r}) raised {client['error']}"
            assert {r["status"] for r in img306} == {"fail"}, f"{said}, but IMG306 says {img306}"
            explained = [c for c in ("IMG301", "IMG303", "IMG305") if "fail" in s.statuses(c, sig)]
            assert explained, f"{said}, but none of IMG301/IMG303/IMG305 fails for {sig}"
            if index == 0:
                assert s.facts["image_size"] is None
        else:
            height, width = client["value"]
            for result in img306:
                assert f"{height}x{width}" in result["message"], (sig, client, result)
            if index == 0:
                assert s.facts["image_size"] == {"height": height, "width": width}


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_num_image_channels_agrees_with_input_layout(name, subject):
    s = default_graph(subject(name))
    for sig in s.facts["image_signatures"]:
        client = s.client["num_image_channels"][sig]
        img303 = s.statuses("IMG303", sig)
        if "error" in client:
            assert "fail" in img303 | s.statuses("IMG301", sig), (sig, client, img303)
        elif client["value"] == 3:
            assert img303 == {"pass"}, (sig, client)
        else:
            assert img303 == {"fail"}, (sig, client)


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_client_accepts_a_batch_where_sigcheck_passes_the_input_and_only_there(name, subject):
    s = default_graph(subject(name))
    applied = next(a for a in s.client["apply"] if a["tags"] == [])
    if "error" in applied:
        pytest.skip(f"hub.Module(spec) fails as a whole: {applied['error']} (see the load-rule test)")
    for sig in s.facts["image_signatures"]:
        outcome = applied["signatures"][sig]
        if "skipped" in outcome:
            continue  # the probe did not feed it (no size known, or too large)
        refused = outcome.get("stage") == "call"  # hub.Module rejected the inputs themselves
        failing = [c for c in INPUT_RULES if s.statuses(c, sig) & set(BAD)]
        if "does not exist in the graph" in outcome.get("error", {}).get("message", ""):
            failing += [c for c in ("HUB106",) if s.statuses(c, tags=[]) & set(BAD)]  # a tensor it cannot find
        if not failing:
            assert not refused, f"sigcheck passes IMG301-IMG306 for {sig}, but hub.Module refuses: {outcome}"
        if refused:
            assert failing, f"hub.Module refuses a batch at the expected size for {sig} ({outcome['error']}), " \
                            "yet sigcheck passes IMG301-IMG306"


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_outputs_differ_from_their_declaration_only_where_run501_fails(name, subject):
    s = loaded(subject(name))
    declared = {tuple(g["tags"]): g["signatures"] for g in s.client["graphs"]}
    ran, lies = 0, []
    for tags, sig, outcome in outcomes(s):
        if "outputs" not in outcome:
            continue
        ran += 1
        infos = declared[tuple(tags)][sig]["value"]["outputs"]
        assert set(outcome["outputs"]) == set(infos)
        for key, value in outcome["outputs"].items():
            info = infos[key]
            if value["dtype"] != info["dtype"] or not _compatible(value["shape"], info["shape"]):
                lies.append(f"{tags} {sig} {key}: computed {value['dtype']} {value['shape']}, "
                            f"declared {info['dtype']} {info['shape']}")
    if not ran:
        pytest.skip(f"the client ran no signature of {name}")
    if lies:
        promised = s.recipe.runtime.get("RUN501", "pass") if s.recipe else "pass"
        assert promised in BAD, f"the recipe promises RUN501 {promised}, but the client computes {lies}"
        assert s.verdict("RUN501") in BAD, f"the client computes {lies}; sigcheck's RUN501 is {s.verdict('RUN501')}"


def _compatible(actual: list, declared: Optional[list]) -> bool:
    if declared is None:
        return True
    return len(actual) == len(declared) and all(d is None or d == a for a, d in zip(actual, declared))


@pytest.mark.parametrize("name", CONFORMANT + produced.CONFORMANT)
def test_conformant_module_loads_and_runs_in_the_client(name, subject):
    s = subject(name)
    assert refusal(s.client) == (None, None)
    assert s.report["verdict"] == "pass"
    size = s.facts["image_size"]
    assert [a["tags"] for a in s.client["apply"]] == s.facts["tag_sets"]
    for applied in s.client["apply"]:
        assert "error" not in applied, applied
        meta = next(m for m in s.facts["meta_graphs"] if m["tags"] == applied["tags"])
        assert sorted(applied["signatures"]) == sorted(meta["signatures"])
        for sig, outcome in applied["signatures"].items():
            assert "outputs" in outcome, (applied["tags"], sig, outcome)
            assert outcome["fed"]["images"] == [BATCH, size["height"], size["width"], 3]
            default = outcome["outputs"]["default"]
            shape = next(t["shape"] for t in meta["signatures"][sig]["outputs"] if t["key"] == "default")
            assert shape[0] is None and shape[1]
            assert default["shape"] == [BATCH, shape[1]], (applied["tags"], sig)
            assert default["dtype"] == "float32" and default["finite"], (applied["tags"], sig)
    first = s.facts["image_signatures"][0]
    assert s.client["apply"][0]["signatures"][first]["outputs"]["default"]["shape"][1] == s.facts["num_outputs"]


def test_a_module_that_harms_the_client_process_fails_sec601(probed, subject):
    harmed = {}
    for name in RECIPES + PRODUCED:
        s = subject(name)
        if probed["markers_written"].get(name):
            harmed[name] = f"its graph wrote {FIXTURES.marker_path(s.path)}"
        crashes = [f"{sig} in {tags}: {o['error']['message']}" for tags, sig, o in outcomes(s)
                   if o.get("error", {}).get("type") == "ClientCrashed"]
        if crashes:
            harmed[name] = crashes[0]
    for name, harm in harmed.items():
        assert subject(name).verdicts["SEC601"] == "fail", f"hub.Module ran {name} and {harm}; SEC601 passes"
    violators = [r.name for r in FIXTURES.RECIPES if "SEC601" in r.violates and r.harms_client
                 and r.name in RECIPES]
    assert violators and set(violators) <= set(harmed), f"SEC601 violators that did no harm: " \
                                                        f"{sorted(set(violators) - set(harmed))}"


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_a_module_the_client_loads_and_runs_without_image_signatures_is_not_applicable(name, subject):
    """Image conventions judge image modules only: hub.Module needs some signature, not `default`."""
    s = loaded(subject(name))
    if s.facts["image_signatures"] or s.facts["kind"] == "text" or refusal(s.client)[0] is not None:
        pytest.skip(f"{name} is an image or a text module, or the client refuses it")
    failed = [(tags, sig, o["error"]) for tags, sig, o in outcomes(s) if "error" in o]
    failed += [(a["tags"], None, a["error"]) for a in s.client.get("apply", []) if "error" in a]
    if failed:
        assert s.verdict("HUB105") in BAD or s.verdicts.get("HUB106") in BAD, \
            f"the client fails {failed[0]} and sigcheck finds nothing wrong"
        return
    assert s.report["verdict"] == "not-applicable", [r for r in s.report["results"] if r["status"] in BAD]


TEXT_INTERFACE = ("TXT701", "TXT702", "TXT703", "TXT704")


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_embedding_columns_accept_what_sigcheck_passes_and_refuse_text_interface_failures(name, subject):
    """hub.text_embedding_column (hub.image_embedding_column for images) accepts, and builds a feature
    layer on, every module sigcheck passes; a text module is refused exactly where sigcheck fails
    its input or output interface (TXT701-TXT704)."""
    s = loaded(subject(name))
    if refusal(s.client)[0] is not None:
        pytest.skip(f"the client refuses {name} whatever the column (see the load rules)")
    columns, kind = s.client["embedding_columns"], s.facts["kind"]
    if s.report["verdict"] == "pass" and kind in ("image", "text"):
        assert "value" in columns[kind], f"sigcheck passes {name} but the client refuses: {columns[kind]}"
    if kind == "text":
        failed = [c for c in TEXT_INTERFACE if s.verdicts.get(c) in BAD]
        assert ("value" in columns["text"]) == (not failed), (failed, columns["text"])
    if kind == "other":
        assert "error" in columns["text"] and "error" in columns["image"], columns


@pytest.mark.parametrize("name", ("text-conformant",))
def test_the_client_loads_and_runs_the_conformant_text_module(name, subject):
    s = subject(name)
    assert refusal(s.client) == (None, None) and s.report["verdict"] == "pass"
    assert [a["tags"] for a in s.client["apply"]] == s.facts["tag_sets"]
    for applied in s.client["apply"]:
        outcome = applied["signatures"]["default"]
        assert outcome["outputs"]["default"]["shape"] == [BATCH, s.facts["num_outputs"]], outcome
        assert outcome["outputs"]["default"]["finite"]


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_uninitialised_variables_in_the_client_only_where_hub105_fails(name, subject):
    """hub.Module restores only GLOBAL_VARIABLES; a graph it runs on uninitialised values fails HUB105,
    statically and in a full run."""
    s = loaded(subject(name))
    uninitialised = [f"{tags} {sig}: {o['error']['message'][:200]}" for tags, sig, o in outcomes(s)
                     if o.get("error", {}).get("uninitialised")]
    uninitialised += [f"{a['tags']}: {a['error']['message'][:200]}" for a in s.client.get("apply", [])
                      if a.get("error", {}).get("uninitialised")]
    if uninitialised:
        assert s.verdict("HUB105") in BAD, f"the client runs on uninitialised variables ({uninitialised[0]}); " \
                                           f"HUB105 is {s.verdict('HUB105')}"
        assert s.verdicts["HUB105"] in BAD, "only the full run finds it"
    elif refusal(s.client)[0] is None and any("outputs" in o for _, _, o in outcomes(s)):
        # The static half (it reads the checkpoint index); full runs are judged above where it matters.
        assert s.verdicts["HUB105"] not in BAD, f"the client restores and runs {name}; HUB105 fails"


def test_the_client_runs_a_graph_on_uninitialised_variables_hub_module_did_not_restore(subject):
    """The fixture exists for this: the test above must see the client fail, not skip it."""
    s = subject("hub105-variables-not-global-with-checkpoint")
    failures = [o["error"] for _, _, o in outcomes(s) if "error" in o]
    assert failures and all(e.get("uninitialised") for e in failures), failures


@pytest.mark.parametrize("name", EVERY_MODULE)
def test_expected_image_size_agrees_in_every_tag_set(name, subject):
    """get_expected_image_size(hub.Module(spec, tags)) reads that tag set's attachments: so does IMG306."""
    s = default_graph(subject(name))
    checked = 0
    for applied in s.client.get("apply", []):
        tags = applied["tags"]
        for sig, outcome in applied["signatures"].items():
            client = outcome.get("expected_image_size")
            if sig not in s.facts["image_signatures"] or client is None:
                continue
            img306 = s.results("IMG306", sig, tags)
            assert img306, f"no IMG306 result for {sig} in {tags}"
            checked += 1
            statuses = {r["status"] for r in img306}
            if "error" in client:
                assert statuses == {"fail"}, f"{tags} {sig}: the client raises {client['error']}; IMG306 {img306}"
                continue
            height, width = client["value"]
            assert all(f"{height}x{width}" in r["message"] for r in img306), (tags, sig, client, img306)
            if outcome.get("stage") == "call" and "error" in outcome:
                refused = statuses | {st for c in INPUT_RULES for st in s.statuses(c, sig)}
                if "does not exist in the graph" in outcome["error"]["message"]:  # a tensor, not the images
                    refused = s.statuses("HUB106", tags=tags)
                assert refused & set(BAD), f"hub.Module(spec, tags={tags}) refuses {height}x{width} images for " \
                                           f"{sig} ({outcome['error']['message'][:200]}), yet IMG306 passes"
    if not checked:
        pytest.skip(f"the client ran no image signature of {name}")


@pytest.mark.parametrize("name", ["ported-ragged", "hub-ragged"])
def test_ragged_tensor_infos_read_as_the_client_shows_them(name, subject):
    s = subject(name)
    client = s.client["graphs"][0]["signatures"]["default"]["value"]
    ours = {t["key"]: t for t in s.facts["meta_graphs"][0]["signatures"]["default"]["inputs"]}
    assert client["inputs"]["default"] == {"dtype": "int64", "shape": [None, None], "is_sparse": False}
    assert (ours["default"]["dtype"], ours["default"]["shape"], ours["default"]["encoding"]) == \
           ("int64", [None, None], "ragged")
    ran = [o for _, _, o in outcomes(s)]
    assert ran and all("outputs" in o for o in ran), ran  # the client runs it; sigcheck calls it not-applicable
    assert s.report["verdict"] == "not-applicable"


def test_the_client_reads_each_tag_sets_own_image_module_info(subject):
    """hub.Module(spec, tags={'train'}) expects 64x64 where {} expects 32x32; IMG306 fails only in {train}."""
    s = subject("hub103-train-attachment-differs")
    sizes = {tuple(a["tags"]): a["signatures"]["default"]["expected_image_size"]["value"] for a in s.client["apply"]}
    assert sizes == {(): [32, 32], ("train",): [64, 64]}
    assert s.statuses("IMG306", "default", []) == {"pass"} and s.statuses("IMG306", "default", ["train"]) == {"fail"}
    assert s.statuses("HUB103", tags=["train"]) == {"fail"}


# --- the reverse direction: modules from the genuine producer ----------------

@pytest.mark.parametrize("name", PRODUCED)
def test_genuinely_exported_module_gets_the_expected_verdicts(name, subject):
    s = subject(name)
    module = produced.BY_NAME[name]
    expect = module.expect
    kind = "image" if module.image else "other"  # the genuine producer's modules here are never text modules

    def skips(r) -> bool:  # the runtime, rules of another format (TF2), rules of another kind
        return r.stage == "runtime" or "tf1-hub" not in r.formats or (r.scope in ("image", "text") and r.scope != kind)

    wanted = {r.code: "skip" if skips(r) else expect.get(r.code, "pass") for r in RULES}
    wrong = {code: f"{s.verdicts.get(code)}, expected {verdict}: "
                   + "; ".join(r["message"] for r in s.report["results"] if r["rule"] == code
                               and r["status"] == s.verdicts.get(code))[:300]
             for code, verdict in wanted.items() if s.verdicts.get(code) != verdict}
    assert not wrong, f"{produced.BY_NAME[name].summary}: {wrong}"
    assert s.report["verdict"] == ("fail" if "fail" in expect.values() else "pass" if module.image
                                   else "not-applicable")


def test_the_producer_exported_a_conformant_module_and_three_violators(probed):
    assert probed["client"]["tensorflow_hub"] == "0.15.0" and probed["client"]["tensorflow"] == "2.15.1"
    violators = [m.name for m in produced.MODULES if "fail" in m.expect.values()]
    assert len(violators) >= 3 and "hub-conformant" not in violators
    assert sorted(probed["produced"]) == sorted(PRODUCED)
    assert all("error" not in entry for entry in probed["produced"].values()), probed["produced"]


def test_fixture_writer_lays_out_a_module_like_the_genuine_exporter(subject):
    """fv-conformant (fixtures/writer.py) beside hub-conformant (hub.Module.export)."""

    def layout(s: Subject) -> dict:
        root = Path(s.path)
        arch = "TinyNet" if s.name in RECIPES else produced.SCOPE
        graphs = [{"tags": m["tags"], "collections": m["collections"], "attachments": m["attachments"],
                   "signatures": {sig: {"method_name": info["method_name"],
                                        "inputs": [t["key"] for t in info["inputs"]],
                                        "outputs": sorted(t["key"].replace(arch, "<arch>") for t in info["outputs"])}
                                  for sig, info in m["signatures"].items()}}
                  for m in s.facts["meta_graphs"]]
        return {"files": sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
                "tfhub_module.pb": (root / "tfhub_module.pb").read_bytes(), "graphs": graphs,
                "format": s.facts["format"], "image_size_source": s.facts["image_size_source"]}

    assert layout(subject("fv-conformant")) == layout(subject("hub-conformant"))
