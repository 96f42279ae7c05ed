"""The genuine third-party TF1 Hub module in ../shared/data: not an image module."""

from __future__ import annotations

from helpers import rule_verdicts, run_sigcheck


def test_half_plus_two_is_reported_plainly_as_not_an_image_module(shared_data):
    archive = shared_data / "half_plus_two_v1.tar.gz"
    run = run_sigcheck("--static", "--format", "json", archive)
    assert run.returncode == 0 and not run.tensorflow_imported
    report = run.json
    assert report["verdict"] == "not-applicable"
    assert report["facts"]["image_module"] is False and report["facts"]["format"] == "FORMAT_V3"
    verdicts = rule_verdicts(report)
    for code in ("HUB101", "HUB102", "HUB103", "HUB104", "SIG201", "SEC601"):
        assert verdicts[code] == "pass", code
    image_rules = [c for c in verdicts if c[:3] in ("IMG", "OUT") or c in ("SIG202", "SIG203")]
    assert image_rules and all(verdicts[c] == "skip" for c in image_rules)
    skip = next(r for r in report["results"] if r["rule"] == "IMG302")
    assert skip["message"].startswith("not an image module")
    rich = run_sigcheck("--static", archive)
    assert rich.returncode == 0
    assert rich.stdout.rstrip().splitlines()[-1].startswith("NOT AN IMAGE MODULE")
