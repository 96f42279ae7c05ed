"""The genuine TF2 consumer agrees with sigcheck's RSM and TF2 image verdicts on every TF2 fixture.

One child process runs the installed tensorflow_hub (hub.load, and hub.KerasLayer
in a tf_keras model, as a user fine-tunes) over every TF2 recipe
(tests/tf2_client_probe.py) and records, per RSM rule, whether the client shows
the problem that rule describes: cannot call __call__ at all, training=True and
False behave differently, a batch size refused, variables missing from the
Keras layer's weights, a non-trainable variable fine-tuned, a regularization loss
that cannot be computed, a sub-callable that cannot be called; for image models,
float32 images refused, and the Keras model's output not one float32 [batch, N]
tensor with N known; and, as the full run judges them, a Keras model of
hub.KerasLayer(path) failing on a batch, no trainable weights with
trainable=True though the model has trainable variables, the same batch
twice giving different outputs, N changing with the image size.  sigcheck
must fail exactly those rules (static rules in a static run, runtime rules in
the full run that tests/test_runtime_rules.py makes).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sigcheck.fixtures
from helpers import run_sigcheck
from sigcheck.api import check
from sigcheck.facts.objects import StructDict
from sigcheck.facts.reader import read_module
from sigcheck.facts.tf2 import call_traces

# Looked up, not imported: only the probe's child process uses them (importing both here would cost
# every xdist worker most of a second at collection).
for _name, _why in (("tensorflow_hub", "the reference is the installed tensorflow_hub"),
                    ("tf_keras", "hub.KerasLayer needs tf_keras")):
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"{_why}: {_name} is not installed", allow_module_level=True)

PROBE = Path(__file__).with_name("tf2_client_probe.py")
# Hostile modules are never handed to the client: it would run them (SEC601 exists for that).
TF2 = [r for r in sigcheck.fixtures.RECIPES if r.format == "tf2-saved-model" and "SEC601" not in r.violates]


def _input_dtype(path: str) -> str:
    traces = call_traces(read_module(path)) or ()
    inputs = traces[0].inputs if traces else ()
    if inputs and isinstance(inputs[0], StructDict):
        return "dict"
    return getattr(inputs[0], "dtype", "float32") if inputs else "float32"


@pytest.fixture(scope="module")
def full_reports(modules, once_per_run):
    """The full run of every fixture that tests/test_runtime_rules.py judges (computed once per test run)."""
    from test_runtime_rules import BATCHED

    run = once_per_run("full-run", lambda: run_sigcheck(
        "--format", "json", "--jobs", "2", *[modules.build(r.name) for r in BATCHED]))
    return {recipe.name: report for recipe, report in zip(BATCHED, run.json["reports"])}


@pytest.fixture(scope="module")
def verdicts(modules, full_reports, once_per_run):
    reports = {r.name: (check(modules.build(r.name), static=True), full_reports[r.name]) for r in TF2}
    wanted = {name: [static.facts["directory"], static.facts["tf2"]["kind"], _input_dtype(static.facts["directory"])]
              for name, (static, _) in reports.items()}

    def probe():  # one client run per test run, whichever xdist worker gets here first
        run = subprocess.run([sys.executable, str(PROBE), json.dumps(wanted)], capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        return json.loads(run.stdout.splitlines()[-1])

    client = once_per_run("tf2-client-probe", probe)
    return {name: (reports[name], client[name]) for name in reports}


@pytest.mark.parametrize("recipe", TF2, ids=lambda r: r.name)
def test_the_client_shows_exactly_the_problems_sigcheck_fails(recipe, verdicts):
    """Static rules as a static run judges them, runtime rules (RSM811, RSM812, RUN504, OUT412) as a full run does."""
    (static, full), client = verdicts[recipe.name]
    failed = {r.rule for r in static.results if r.rule in client and r.status == "fail"}
    failed |= {r["rule"] for r in full["results"] if r["rule"] in client and r["status"] == "fail"}
    shown = {code for code, problem in client.items() if problem}
    assert failed == shown, f"sigcheck fails {sorted(failed)}, the client shows {sorted(shown)}"
    assert failed == {code for code in recipe.violates if code in client}
