"""The genuine TF2 consumer agrees with sigcheck's RSM verdicts on every TF2 fixture.

One child process runs the installed tensorflow_hub (hub.load, and hub.KerasLayer
in a tf_keras model, as a user fine-tunes) over every TF2 recipe
(tests/tf2_client_probe.py) and records, per RSM rule, whether the client shows
the problem that rule describes: cannot call __call__ at all, training=True and
False behave differently, a batch size refused, variables missing from the
Keras layer's weights, a non-trainable variable fine-tuned, a regularization loss
that cannot be computed, a sub-callable that cannot be called; for image models,
float32 images refused, and the Keras model's output not one float32 [batch, N]
tensor with N known.  sigcheck's static run must fail exactly those rules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sigcheck.fixtures
from sigcheck.api import check
from sigcheck.facts.objects import StructDict
from sigcheck.facts.reader import read_module
from sigcheck.facts.tf2 import call_traces

pytest.importorskip("tensorflow_hub", reason="the reference is the installed tensorflow_hub")
pytest.importorskip("tf_keras", reason="hub.KerasLayer needs tf_keras")

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
def verdicts(modules):
    reports = {r.name: check(modules.build(r.name), static=True) for r in TF2}
    wanted = {name: [report.facts["directory"], report.facts["tf2"]["kind"], _input_dtype(report.facts["directory"])]
              for name, report in reports.items()}
    run = subprocess.run([sys.executable, str(PROBE), json.dumps(wanted)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    client = json.loads(run.stdout.splitlines()[-1])
    return {name: (reports[name], client[name]) for name in reports}


@pytest.mark.parametrize("recipe", TF2, ids=lambda r: r.name)
def test_the_client_shows_exactly_the_problems_sigcheck_fails(recipe, verdicts):
    report, client = verdicts[recipe.name]
    failed = {r.rule for r in report.results if r.rule in client and r.status == "fail"}
    shown = {code for code, problem in client.items() if problem}
    assert failed == shown, f"sigcheck fails {sorted(failed)}, the client shows {sorted(shown)}"
    assert failed == {code for code in recipe.violates if code in client}
