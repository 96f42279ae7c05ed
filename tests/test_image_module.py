"""One definition of "an image module" (facts.image.module_image_signatures): the report's
image_module, the facts summary and the engine's image scope agree, also under --tags."""

from __future__ import annotations

from sigcheck.api import _only_tags
from sigcheck.checks._context import Context
from sigcheck.facts.image import is_image_module
from sigcheck.facts.summary import summarize
from sigcheck.testing import meta_graph, module, signature, tensor


def test_every_reader_agrees_when_only_a_non_image_tag_set_is_checked():
    text = (signature("default", inputs=(tensor("sentences", "string", (None,)),)),)
    facts = module((meta_graph(()), meta_graph(("serve",), signatures=text)))
    for tags, expected in (((("serve",),), False), (((),), True), (None, True)):
        judged = _only_tags(facts, tags)
        summary = summarize(facts, "m", judged=judged)
        assert is_image_module(judged) is expected
        assert summary["image_module"] is expected
        assert Context(judged).is_image_module is expected


def test_a_module_without_meta_graphs_is_not_an_image_module():
    facts = module(())
    assert not is_image_module(facts)
    assert summarize(facts, "m")["image_module"] is False
