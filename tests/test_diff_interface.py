"""sigcheck diff's interface classification, in-process over fact builders (no TensorFlow), and its JSON contract."""

from __future__ import annotations

import json
import os

import pytest

from sigcheck.diffing.behaviour import THRESHOLDS, Behaviour, compare_outputs
from sigcheck.diffing.interface import BREAKING, CLASSIFICATION, COMPATIBLE, NoCommonInterface, compare_interfaces
from sigcheck.diffing.render import FORMATS
from sigcheck.diffing.report import DiffReport
from sigcheck.testing import default_output, image_module_info, image_signatures, images, module, signature, tensor

BASE = module()


def kinds(old, new) -> dict:
    return {d.kind: d.classification for d in compare_interfaces(old, new)}


def test_the_same_interface_has_no_difference():
    assert compare_interfaces(BASE, module()) == ()


@pytest.mark.parametrize("new, kind, classification", [
    (module(signatures=image_signatures(names=("default",))), "signature-removed", BREAKING),
    (module(signatures=image_signatures(names=("default", "image_feature_vector", "extra"))), "signature-added",
     COMPATIBLE),
    (module(signatures=image_signatures(outputs=(default_output(), tensor("TinyNet/conv1")))), "output-added",
     COMPATIBLE),
    (module(signatures=image_signatures(inputs=(images(dtype="uint8"),))), "dtype-changed", BREAKING),
    (module(signatures=image_signatures(inputs=(images(shape=(None, 48, 48, 3)),)),
            attachments=(image_module_info(48, 48),)), "image-size-changed", BREAKING),
    (module(signatures=image_signatures(outputs=(default_output(shape=(None, 24)),))), "num-outputs-changed",
     BREAKING),
    (module(signatures=image_signatures(inputs=(images(shape=(1, 32, 32, 3)),))), "dimension-fixed", BREAKING),
    (module(signatures=image_signatures(outputs=(default_output(shape=(None, 16, 1)),))), "rank-changed", BREAKING),
    (module(tag_sets=((),)), "tag-set-removed", BREAKING),
    (module(attachments=()), "image-size-source-changed", COMPATIBLE),
    (module(attachments=()), "attachment-removed", BREAKING),
])
def test_each_difference_is_classified(new, kind, classification):
    found = kinds(BASE, new)
    assert found.get(kind) == classification, found
    assert CLASSIFICATION[kind][0] == classification


def test_a_relaxed_dimension_is_compatible_and_the_reverse_breaking():
    fixed = module(signatures=image_signatures(inputs=(images(shape=(1, 32, 32, 3)),)))
    assert kinds(fixed, BASE) == {"dimension-relaxed": COMPATIBLE}
    assert kinds(BASE, fixed) == {"dimension-fixed": BREAKING}


def test_a_removed_output_key_is_breaking_with_a_reason():
    old = module(signatures=image_signatures(outputs=(default_output(), tensor("TinyNet/conv1"))))
    (difference, *_) = compare_interfaces(old, BASE)
    assert difference.kind == "output-removed" and difference.classification == BREAKING
    assert "output 'TinyNet/conv1' removed" in difference.reason and "consumers" in difference.reason
    assert difference.path == "tags[]/signatures/default/outputs/TinyNet/conv1"


def test_no_common_signature_is_a_distinct_error():
    text = module(signatures=(signature("double", inputs=(tensor("x"),), outputs=(tensor("y"),)),))
    with pytest.raises(NoCommonInterface) as raised:
        compare_interfaces(BASE, text)
    assert raised.value.exit_code == 6 and "double" in str(raised.value)


def test_behaviour_metrics_find_a_changed_classifier_and_pass_a_tiny_change():
    import numpy as np

    rng = np.random.default_rng(0)
    old = rng.standard_normal((8, 10))
    labels = tuple(str(i) for i in range(8))
    same = compare_outputs({("default", "default"): old}, {("default", "default"): old * (1 + 1e-6)}, labels,
                           {"default": "classifier"}, THRESHOLDS)
    assert same[0].metrics["top1_agreement"] == 1.0 and same[0].findings == ()
    shuffled = compare_outputs({("default", "default"): old}, {("default", "default"): old[:, ::-1]}, labels,
                               {"default": "classifier"}, THRESHOLDS)
    assert any("top-1 agreement" in f for f in shuffled[0].findings)


SCHEMA = os.path.join(os.path.dirname(__file__), "..", "sigcheck", "schemas", "sigcheck-diff-1.json")


def test_json_follows_its_schema_and_every_format_renders():
    import jsonschema
    import numpy as np

    old = np.eye(8, 16)
    compared = compare_outputs({("default", "default"): old}, {("default", "default"): old + 0.5},
                               tuple("abcdefgh"), {"default": "feature_vector"}, THRESHOLDS)
    report = DiffReport("a", "b", compare_interfaces(BASE, module(tag_sets=((),))),
                        Behaviour(True, "", tuple("abcdefgh"), compared, THRESHOLDS), {}, {})
    document = json.loads(FORMATS["json"](report))
    with open(SCHEMA, encoding="utf-8") as f:
        jsonschema.validate(document, json.load(f))
    assert document["schema"] == "sigcheck-diff/1" and document["verdict"] == "breaking"
    assert document["exit_code"] == 1 and document["summary"]["breaking"] == 1
    assert "tag-set-removed" in FORMATS["markdown"](report) or "tags[train]" in FORMATS["markdown"](report)
    assert "Verdict: BREAKING" in FORMATS["text"](report)
