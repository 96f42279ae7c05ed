"""The real TF1 Hub modules in ../shared/data/realworld, read, reported and run as the
genuine client treats them (tests/compat checks the same modules against the client itself).

None is an image module: the genuine client loads and runs them, so sigcheck
calls them not-applicable and exits 0.  The TF2 SavedModel kept there is what
today's client (hub.load, hub.KerasLayer) takes: it is judged by the Reusable
SavedModel API rules and passes (hub.Module, the TF1 client, refuses it: tests/compat).
"""

from __future__ import annotations

import shutil

import pytest

from helpers import rule_verdicts, run_sigcheck, run_sigcheck_inprocess
from sigcheck.rules import load_rules

RULES = load_rules()
NOT_IMAGE = {r.code for r in RULES if r.scope in ("image", "text")}  # kind `other`: neither applies
# entry -> (handle inside the entry, verdict, rules that must not pass, HUB105's full-run message)
EXPECTED = {
    "deepmind-research__DM21": ("", "not-applicable", {}, "restored 28 variable(s)"),
    "deepmind-research__DM21m": ("", "not-applicable", {}, "restored 28 variable(s)"),
    "deepmind-research__DM21mc": ("", "not-applicable", {}, "restored 28 variable(s)"),
    "deepmind-research__DM21mu": ("", "not-applicable", {}, "restored 28 variable(s)"),
    "tensorflow_hub__half_plus_two_v1_tgz": ("half_plus_two_v1.tar.gz", "not-applicable", {},
                                             "restored 2 variable(s)"),
    "tensorflow_hub__hub_module_v1_mini": ("", "not-applicable", {}, "the graph has no variables"),
    # A TF2 SavedModel (tag set {serve}, no tfhub_module.pb): what hub.load and hub.KerasLayer take; it is
    # judged by the Reusable SavedModel API rules (tests/test_tf2_client.py runs the genuine TF2 client on
    # TF2 exports; tests/compat proves hub.Module refuses it), not failed for lacking the TF1 Hub format.
    # kind other: sigcheck has no synthetic input for its __call__, so hub.KerasLayer is not tried
    "tensorflow_hub__saved_model_v2_mini": ("", "pass", {"RSM811": "skip", "RSM812": "skip"}, None),
}


@pytest.fixture(scope="module")
def realworld(shared_data):
    return shared_data / "realworld"


def _handle(realworld, entry) -> str:
    inner = EXPECTED[entry][0]
    return str(realworld / entry / inner) if inner else str(realworld / entry)


FORMATS = {"tensorflow_hub__saved_model_v2_mini": "tf2-saved-model"}  # the others are TF1 Hub modules
TF2_TEXT_APIS = {r.code for r in RULES if r.code.startswith("TXT75")}  # judge TF2 text models only


def _expected_verdicts(entry, static: bool) -> dict:
    bad, saved_as = EXPECTED[entry][2], FORMATS.get(entry, "tf1-hub")

    def skips(r) -> bool:
        return (r.code in NOT_IMAGE | TF2_TEXT_APIS or saved_as not in r.formats
                or (static and r.stage == "runtime"))

    return {r.code: "skip" if skips(r) else bad.get(r.code, "pass") for r in RULES}


def test_every_real_world_module_has_an_expectation(realworld):
    assert sorted(p.name for p in realworld.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("entry", sorted(EXPECTED))
def test_static_report_is_what_the_client_would_do(entry, realworld):
    run = run_sigcheck("--static", "--format", "json", _handle(realworld, entry))
    assert not run.tensorflow_imported
    report = run.json
    assert report["verdict"] == EXPECTED[entry][1]
    assert run.returncode == (1 if EXPECTED[entry][1] == "fail" else 0)
    assert rule_verdicts(report) == _expected_verdicts(entry, static=True)
    assert report["facts"]["image_module"] is False and report["facts"]["kind"] == "other"


@pytest.fixture(scope="module")
def full_reports(realworld, once_per_run):
    entries = sorted(EXPECTED)
    run = once_per_run("realworld-full-run", lambda: run_sigcheck(  # one run, whichever xdist worker asks first
        "--format", "json", "--jobs", "2", *[_handle(realworld, e) for e in entries]))
    assert run.returncode == 0, run.stderr
    return dict(zip(entries, run.json["reports"]))


@pytest.mark.parametrize("entry", sorted(EXPECTED))
def test_full_run_loads_and_restores_as_the_client_would(entry, full_reports):
    report = full_reports[entry]
    assert report["verdict"] == EXPECTED[entry][1]
    assert rule_verdicts(report) == _expected_verdicts(entry, static=False)
    if EXPECTED[entry][3] is not None:  # a TF1 Hub module: restored as hub.Module would
        hub105 = [r["message"] for r in report["results"] if r["rule"] == "HUB105"]
        assert any(EXPECTED[entry][3] in m for m in hub105), hub105


def test_scan_of_legitimate_non_image_modules_exits_0(realworld, modules, tmp_path):
    """A folder of real non-image modules plus tensorflow_hub's double/square test module."""
    for entry, (inner, verdict, _, _) in EXPECTED.items():
        if verdict == "not-applicable":
            source = realworld / entry
            shutil.copytree(source, tmp_path / entry) if not inner else shutil.copy(source / inner, tmp_path)
    shutil.copytree(modules.build("ported-multi-signature"), tmp_path / "multi-signature")
    run = run_sigcheck_inprocess("scan", "--static", "--format", "json", tmp_path)
    assert run.returncode == 0, run.stdout[-2000:]
    document = run.json
    assert document["summary"]["modules"] == 7
    assert document["summary"]["verdicts"] == {"not-applicable": 7}


def test_half_plus_two_reads_as_not_an_image_module_in_the_terminal(realworld):
    rich = run_sigcheck_inprocess("--static", _handle(realworld, "tensorflow_hub__half_plus_two_v1_tgz"))
    assert rich.returncode == 0
    assert rich.stdout.rstrip().splitlines()[-1].startswith("NOT AN IMAGE MODULE")
