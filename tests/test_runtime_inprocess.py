"""Runtime rules judged in-process on built observations (sigcheck.testing_runtime): a
passing and a failing case for each, through engine.evaluate, without TensorFlow.

The real-module matrix (test_runtime_rules.py) stays the ground truth; these pin
each check's logic and run in milliseconds.  Also: the plan runs only the probes
the selected rules declare (``@check(..., needs=)``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from sigcheck.api import runtime_settings
from sigcheck.config import Config
from sigcheck.engine import select_rules
from sigcheck.probes import CATALOGUE
from sigcheck.rules import load_rules
from sigcheck.runtime.plan import make_plan
from sigcheck.testing import assert_results, image_signatures, module, tensor_spec, tf2_module, trace
from sigcheck.testing_runtime import (batch_dependent, constant, expects_0_255, features, nan_for, observe,
                                      output_dropout, random_each_run, size_dependent, softmax, training_dropout,
                                      width)
from test_rules_inprocess import text_module

RULES = load_rules()
FACTS = module()
CLASSIFIER = module(signatures=image_signatures(names=("default", "image_classification")))


def check(code, facts=FACTS, model=None, **failures):
    """assert_results on observations of ``model`` (conformant when None)."""
    observations = observe(facts, **failures) if model is None else observe(facts, model, **failures)
    return lambda **expected: assert_results(code, facts, observations=observations, **expected)


# --- RUN501 -----------------------------------------------------------------

def test_run501_passes_when_every_batch_size_runs_with_the_declared_shapes():
    check("RUN501")(passes="B=1, 2, 5")


def test_run501_fails_on_a_shape_other_than_declared():
    check("RUN501", model=width(8))(fail="declared [?, 16]")


def test_run501_fails_when_a_batch_size_fails():
    check("RUN501", probe_errors={"size-2": "InvalidArgumentError: cannot feed"})(fail="B=2: failed")


def test_run501_fails_when_a_tag_set_does_not_load():
    check("RUN501", load_errors={("train",): "NotFoundError: op"})(passes=True, fail="could not be loaded")


def test_run501_is_an_error_when_the_batch_is_too_big_to_run():
    check("RUN501", max_batch_bytes=1000)(error="above the limit")


# --- RUN502 -----------------------------------------------------------------

def test_run502_passes_on_finite_outputs():
    check("RUN502")(passes="all outputs finite")


def test_run502_fails_and_names_the_image_with_nan():
    check("RUN502", model=nan_for("black"))(fail="black")


# --- RUN503 -----------------------------------------------------------------

def test_run503_passes_when_an_image_gives_the_same_output_in_any_batch():
    check("RUN503")(passes="compared across batch sizes")


def test_run503_fails_on_batch_statistics():
    check("RUN503", model=batch_dependent)(fail="depends on the other images")


def test_run503_skips_when_outputs_are_not_deterministic():
    check("RUN503", model=random_each_run)(skip="not deterministic")


# --- RUN504 -----------------------------------------------------------------

def test_run504_passes_when_the_same_batch_gives_the_same_output():
    check("RUN504")(passes="the same batch twice")


def test_run504_fails_when_runs_differ():
    check("RUN504", model=random_each_run)(fail="randomness is active")


# --- RUN505 -----------------------------------------------------------------

def test_run505_passes_when_images_give_distinct_outputs():
    check("RUN505")(passes="8 synthetic images give 8 distinct outputs")


def test_run505_fails_on_a_constant_output():
    check("RUN505", model=constant)(fail="ignores the input")


# --- OUT405 (dynamic half) --------------------------------------------------

def test_out405_dynamic_half_passes_without_dropout():
    results = check("OUT405")(passes="identical outputs")
    assert all(r.evidence == "static trace and dynamic runs" for r in results)


def test_out405_dynamic_half_finds_output_dropout_in_the_training_graph():
    results = check("OUT405", model=output_dropout(("train",)))(passes="{}", fail="found by dynamic runs")
    assert [r.tags for r in results if r.status == "fail"] == [("train",)]


# --- OUT407 -----------------------------------------------------------------

def test_out407_passes_on_logits_and_skips_feature_vectors():
    check("OUT407", CLASSIFIER)(passes="scores, not probabilities")
    check("OUT407")(skip="not a classification signature")


def test_out407_fails_on_softmax_probabilities():
    check("OUT407", CLASSIFIER, model=softmax)(warn="softmax probabilities")  # a warning rule


# --- IMG307 (dynamic half) --------------------------------------------------

def test_img307_dynamic_half_passes_on_a_module_taking_0_1():
    results = check("IMG307")(passes="at [0, 255]")
    assert {r.evidence for r in results} == {"static trace and runtime comparison"}


def test_img307_dynamic_half_fails_on_a_module_taking_0_255():
    check("IMG307", model=expects_0_255)(warn="runtime: relative spread")  # a warning rule


# --- HUB105 (runtime half) --------------------------------------------------

def test_hub105_runtime_half_passes_when_the_checkpoint_restores():
    results = check("HUB105")(passes="restored 1 variable(s)")
    assert {r.evidence for r in results} == {"restore"}


def test_hub105_runtime_half_fails_when_the_checkpoint_does_not_restore():
    check("HUB105", variables_errors={("train",): "InvalidArgumentError: shape"})(
        passes=True, fail="does not restore")


# --- HUB108 -----------------------------------------------------------------

def test_hub108_passes_when_the_registry_knows_every_op():
    check("HUB108")(passes="every op type the graph uses is registered")


def test_hub108_fails_on_an_op_the_installed_tensorflow_lacks():
    check("HUB108", unregistered_ops={("train",): ("SentencepieceOp",)})(
        passes=True, fail="op type(s) SentencepieceOp are not registered")


# --- RUN506 -----------------------------------------------------------------

def golden_of(facts, model, directory) -> str:
    """Golden outputs of ``facts`` behaving as ``model``, written by sigcheck's own writer to ``directory``."""
    from sigcheck.diffing.golden import _write
    from sigcheck.diffing.run import ModuleOutputs
    from sigcheck.probes import OUTPUTS

    observations = observe(facts, model)
    tags = facts.primary.tags
    values, tensors, sizes, labels = {}, {}, {}, ()
    for group in observations.plan.for_tags(tags).groups:
        probe = observations.for_tags(tags).probes[group.input_tensor][OUTPUTS]
        labels = probe.labels
        for signature, key, tensor in group.outputs:
            if tensor in probe.runs[0].values:
                values[signature, key], tensors[signature, key] = probe.runs[0].values[tensor], tensor
                sizes[signature] = (group.height, group.width)
    _write(str(directory), "built", ModuleOutputs(labels, values, tensors, sizes), {"source": "built", "sha256": ""},
           None, None)
    return str(directory)


def test_run506_passes_when_the_outputs_match_the_golden_ones(tmp_path):
    golden = golden_of(FACTS, features, tmp_path / "golden")
    check("RUN506")(passes="matches the golden output", options={"golden": golden})


def test_run506_fails_and_names_the_images_that_drifted(tmp_path):
    golden = golden_of(FACTS, features, tmp_path / "golden")
    check("RUN506", model=nan_for("black"))(fail="differs from the golden output in 16 of", options={"golden": golden})


# --- TXT705 (runtime half), TXT711-TXT715: text modules ------------------------

TEXT = text_module()


def test_txt705_dynamic_half_passes_without_dropout():
    results = check("TXT705", TEXT)(passes="identical")
    assert {r.evidence for r in results} == {"static trace and dynamic runs"}


def test_txt705_dynamic_half_finds_output_dropout_in_the_training_graph():
    results = check("TXT705", TEXT, model=output_dropout(("train",)))(passes="{}", fail="found by dynamic runs")
    assert [r.tags for r in results if r.status == "fail"] == [("train",)]


def test_txt711_passes_when_every_batch_of_strings_runs_with_the_declared_shape():
    check("TXT711", TEXT)(passes="runs for B=1, 2, 5 on every synthetic string")


def test_txt711_fails_on_a_shape_other_than_declared_and_on_a_failed_batch():
    check("TXT711", TEXT, model=width(4))(fail="output 'default' is [B, 4], declared [?, 8]")
    check("TXT711", TEXT, probe_errors={"text-all": "InvalidArgumentError: bad utf-8"})(
        passes=True, fail="failed on long, out-of-vocabulary")


def test_txt712_passes_on_finite_embeddings():
    check("TXT712", TEXT)(passes="all outputs finite")


def test_txt712_fails_and_names_the_string_with_nan():
    check("TXT712", TEXT, model=nan_for("empty"))(fail="NaN or Inf for empty")


def test_txt713_passes_when_a_string_gives_the_same_embedding_in_any_batch():
    check("TXT713", TEXT)(passes="compared across batch sizes")


def test_txt713_fails_on_batch_statistics():
    check("TXT713", TEXT, model=batch_dependent)(fail="depends on the other strings")


def test_txt714_passes_when_the_same_strings_give_the_same_embedding():
    check("TXT714", TEXT)(passes="the same strings twice")


def test_txt714_fails_when_runs_differ():
    check("TXT714", TEXT, model=random_each_run)(fail="randomness is active")


def test_txt715_passes_when_distinct_sentences_give_distinct_embeddings():
    check("TXT715", TEXT)(passes="3 distinct sentences give 3 distinct embeddings")


def test_txt715_fails_on_a_constant_embedding():
    check("TXT715", TEXT, model=constant)(fail="the embedding ignores its input")


# --- TF2 SavedModels: __call__ (RUN501-RUN505, OUT405, OUT407, OUT412) and hub.KerasLayer (RSM811, RSM812)

TF2 = tf2_module()  # float32 [?, ?, ?, 3] -> [?, 8], traced for training=True and False


def test_tf2_run501_passes_when_call_returns_b_by_n_at_every_batch_size():
    check("RUN501", TF2)(passes="__call__ runs for B=1, 2, 5 and returns float32 [B, 8] as its traces declare")


def test_tf2_run501_fails_when_a_batch_size_fails_or_the_shape_is_not_b_by_n():
    check("RUN501", TF2, probe_errors={"size-5": "ValueError: Could not find matching concrete function"})(
        fail="B=5: failed")
    check("RUN501", TF2, shapes={"default": lambda b: (b, 1, 8)})(fail="returned [B, 1, 8], expected [B, N]")


def test_tf2_run502_to_run505_judge_call_in_inference_mode():
    check("RUN502", TF2, model=nan_for("black"))(fail="black")
    check("RUN503", TF2, model=batch_dependent)(fail="depends on the other images")
    check("RUN504", TF2, model=random_each_run)(fail="randomness is active")
    check("RUN505", TF2, model=constant)(fail="ignores the input")
    for code in ("RUN502", "RUN503", "RUN504", "RUN505"):
        check(code, TF2)(passes=True)


def test_tf2_dropout_with_training_true_is_not_a_defect_of_inference():
    """The training=True calls (DROPOUT) and the second size (RESIZED) stay out of the inference rules."""
    for code in ("RUN503", "RUN504", "RUN505"):
        check(code, TF2, model=training_dropout())(passes=True)


def test_tf2_out405_passes_without_output_dropout_in_either_mode():
    results = check("OUT405", TF2)(passes="no dropout on __call__'s output")
    assert {r.evidence for r in results} == {"dynamic runs"}


def test_tf2_out405_fails_on_output_dropout_with_training_true_and_skips_a_static_run():
    check("OUT405", TF2, model=training_dropout())(fail="with training=True, found by dynamic runs")
    assert_results("OUT405", TF2, runtime_skip_reason="runtime checks not run (--static)", skip="--static")


def test_tf2_out407_judges_every_image_model():
    check("OUT407", TF2)(passes="scores, not probabilities")
    check("OUT407", TF2, model=softmax)(warn="softmax probabilities")


def test_tf2_img307_compares_call_at_both_ranges():
    results = check("IMG307", TF2)(passes="__call__ tells [0, 1] images apart")
    assert {r.evidence for r in results} == {"runtime comparison"}
    check("IMG307", TF2, model=expects_0_255)(warn="runtime: relative spread")


def test_out412_passes_when_n_is_the_same_at_both_sizes():
    check("OUT412", TF2)(passes="N = 8 at 224x224 and at 160x160")


def test_out412_fails_when_n_follows_the_image_size():
    check("OUT412", TF2, model=size_dependent)(fail="N is 15 at 224x224 but 13 at 160x160")


def test_out412_skips_a_model_of_one_image_size_and_tf1_modules():
    fixed = tf2_module(call_traces=(trace("c", tensor_spec(shape=(None, 64, 64, 3)), False),))
    check("OUT412", fixed)(skip="one image size (64x64)")
    check("OUT412")(skip="applies to tf2-saved-model")


def test_rsm811_passes_when_the_keras_model_runs_a_batch():
    check("RSM811", TF2)(passes="hub.KerasLayer wraps the model; a tf_keras model built on it runs a batch of 2 "
                              "images -> float32 [2, 8]")


def test_rsm811_fails_when_the_keras_model_cannot_run():
    check("RSM811", TF2, probe_errors={"keras": "ValueError: Could not find matching concrete function"})(
        fail="fails on a batch of 2 images: ValueError")


def test_rsm812_passes_when_the_trainable_layer_has_the_trainable_variables():
    check("RSM812", TF2)(passes="has 1 trainable weight(s); the model has 1 trainable variable(s)")
    check("RSM812", tf2_module(trainable=None, variables=(6,)))(passes="no trainable variables")


def test_rsm812_fails_when_trainable_variables_do_not_reach_the_layer():
    check("RSM812", TF2, details={"keras-trainable": {"trainable_variables": 1, "trainable_weights": 0}})(
        fail="has no trainable weights, though the model has 1 trainable variable(s)")


def test_tf2_probes_follow_the_selected_rules():
    def planned(select):
        settings = runtime_settings(select_rules(RULES, select), Config())
        plan = make_plan(TF2, "m", batch_sizes=settings.batch_sizes, dropout_runs=settings.dropout_runs,
                         max_batch_bytes=settings.max_batch_bytes, needs=settings.needs)
        assert plan.loader == "tf2"
        return {g.input_tensor: [(p.name, p.training) for p in g.probes] for g in plan.tag_sets[0].groups}

    assert planned(("RSM811",)) == {"hub.KerasLayer": [("keras", None)]}
    assert planned(("OUT412",)) == {"__call__": [("size-1", False), ("size-2", False), ("size-5", False),
                                                 ("tf2-resized", False)]}
    assert planned(("OUT405",)) == {"__call__": [("repeat", False), ("dropout", True)]}


# --- probes declared by the rules --------------------------------------------

def probe_names(select, config=Config()):
    settings = runtime_settings(select_rules(RULES, select), config)
    if not settings.runs:
        return None
    plan = make_plan(FACTS, "m", batch_sizes=settings.batch_sizes, dropout_runs=settings.dropout_runs,
                     max_batch_bytes=settings.max_batch_bytes, needs=settings.needs)
    return [sorted({p.name for g in t.groups for p in g.probes}) for t in plan.tag_sets]


def test_the_plan_runs_only_what_the_selected_rules_need():
    assert probe_names(("RUN501",)) == [["size-1", "size-2", "size-5"]] * 2
    assert probe_names(("RUN504",)) == [["repeat"], []]
    assert probe_names(("OUT405",)) == [["repeat"], ["dropout"]]
    assert probe_names(("HUB105",)) == [[], []]  # loads and restores only
    assert probe_names(("IMG30", "SIG")) == [["all", "range255"], []]  # IMG307's runtime half
    assert probe_names(("IMG301", "SIG", "HUB101")) is None  # static only: nothing runs


def test_a_full_selection_runs_every_probe_in_catalogue_order():
    plan = make_plan(FACTS, "m", batch_sizes=(1, 2, 5), dropout_runs=4, max_batch_bytes=2 << 30,
                     needs=runtime_settings(RULES, Config()).needs)
    inference, train = ([p.name for p in t.groups[0].probes] for t in plan.tag_sets)
    assert inference == ["size-1", "size-2", "size-5", "all", "repeat", "range255"]
    assert train == ["size-1", "size-2", "size-5", "dropout"]


@pytest.mark.parametrize("rule", [r for r in RULES if r.needs], ids=lambda r: r.code)
def test_declared_needs_are_catalogued_and_used_only_by_runtime_rules(rule):
    assert rule.uses_runtime and set(rule.needs) <= set(CATALOGUE)


def test_a_check_declaring_an_unknown_probe_fails_at_import():
    from sigcheck.checks import check as bind

    with pytest.raises(ValueError, match="unknown probe"):
        bind("RUN599", needs=("repaet",))


def _cases_in_this_file() -> dict:
    """code -> the statuses its ``check("CODE", ...)(**expected)`` calls in this file assert."""
    import ast

    with open(__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    covered: dict = {}
    for call in ast.walk(tree):
        inner = call.func if isinstance(call, ast.Call) else None
        if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "check"
                and inner.args and isinstance(inner.args[0], ast.Constant)):
            covered.setdefault(inner.args[0].value, set()).update(k.arg for k in call.keywords)
    return covered


def _without_cases(rules) -> list:
    covered = _cases_in_this_file()
    return [r.code for r in rules if r.uses_runtime
            and not {"passes", "fail" if r.severity == "error" else "warn"} <= covered.get(r.code, set())]


def test_every_runtime_rule_has_passing_and_failing_cases():
    """Derived from rules/*.toml: a new runtime rule (or runtime half) without a passing and a
    failing case on built observations here makes this fail."""
    missing = _without_cases(RULES)
    assert not missing, f"runtime rules without in-process cases: {', '.join(missing)}"


NEW_RULE = """
[[rule]]
code = "RUN599"
name = "new-runtime-rule"
category = "runtime"
severity = "error"
stage = "runtime"
scope = "image"
summary = "A runtime rule added by this test: a TOML entry and a check, nothing else."
why = "Adding a rule must be a local change."
spec = "images#feature-vector"
example_pass = "the same batch twice gives the same output"
example_fail = "it does not"
"""


def test_adding_a_runtime_rule_is_a_toml_entry_and_a_check(tmp_path, monkeypatch):
    """A new runtime rule -- its rules/*.toml entry and its @check with ``needs`` -- is bound,
    planned, judged and expected by every derived list without touching plan.py, the engine,
    the api or a hand-kept list; the tests that derive from the metadata then ask for its cases."""
    import shutil

    import sigcheck.checks
    import sigcheck.fixtures
    import sigcheck.rules
    from sigcheck.bundled import rules_dir
    from sigcheck.checks import passed
    from sigcheck.checks._observed import each_default_observed
    from sigcheck.probes import REPEAT
    from sigcheck.testing_runtime import observe

    for name in os.listdir(rules_dir()):
        shutil.copy(os.path.join(rules_dir(), name), tmp_path / name)
    with open(tmp_path / "run.toml", "a", encoding="utf-8") as f:
        f.write(NEW_RULE)

    def new_rule(ctx, options):
        for _, where, seen in each_default_observed(ctx):
            yield passed("observed") if seen.probes else seen.unobserved(**where)

    monkeypatch.setattr(sigcheck.rules, "rules_dir", lambda: str(tmp_path))
    monkeypatch.setattr(sigcheck.checks, "_REGISTRY", dict(sigcheck.checks._REGISTRY))
    monkeypatch.setattr(sigcheck.checks, "_NEEDS", dict(sigcheck.checks._NEEDS))
    sigcheck.checks.check("RUN599", needs=(REPEAT,))(new_rule)
    sigcheck.rules.load_rules.cache_clear()
    try:
        rules = sigcheck.rules.load_rules()
        added = sigcheck.rules.rule_by_code("RUN599")
        assert added.check is new_rule and added.needs == (REPEAT,) and added.uses_runtime
        # the plan runs what it declared, for it alone
        settings = runtime_settings(select_rules(rules, ("RUN599",)), Config())
        plan = make_plan(FACTS, "m", batch_sizes=settings.batch_sizes, dropout_runs=settings.dropout_runs,
                         max_batch_bytes=settings.max_batch_bytes, needs=settings.needs)
        assert [sorted({p.name for g in t.groups for p in g.probes}) for t in plan.tag_sets] == [["repeat"], []]
        # the engine judges it, and skips it with one reason when nothing ran
        assert_results("RUN599", FACTS, observations=observe(FACTS), passes="observed")
        assert_results("RUN599", FACTS, skip="the module was not run")
        # the fixture catalog expects it (conformant modules pass it) without listing it
        recipe = sigcheck.fixtures.recipe("fv-conformant")
        assert sigcheck.fixtures.catalog.expected_verdicts(recipe, rules, static=False)["RUN599"] == "pass"
        # and the derived test lists now ask for its in-process cases
        assert _without_cases(rules) == ["RUN599"]
    finally:
        sigcheck.rules.load_rules.cache_clear()


# --- TF2 text models: TXT711-TXT715 on an embedding's __call__, TXT756-TXT758 -------------
from sigcheck.facts.objects import SavedObject, StructDict, TypeSpec  # noqa: E402

_TEXTS = tensor_spec("texts", "string", (None,))
_KEYS = ("input_mask", "input_type_ids", "input_word_ids")
_IDS = StructDict(tuple((k, tensor_spec(k, "int32", (None, 4))) for k in _KEYS))
_TOKENIZE = SavedObject(8, "function", concrete_functions=("tok",))


def _text_model(inputs, outputs, *, training=(None,), tokenize=False):
    traces = tuple(trace(f"c{i}", inputs, *(() if t is None else (t,)), outputs=outputs)
                   for i, t in enumerate(training))
    extra = dict(extra_nodes=(_TOKENIZE,), extra_children=(("tokenize", 8),),
                 extra_traces=(trace("tok", _TEXTS, outputs=TypeSpec("ragged", "int32", (None, None), 1)),)) \
        if tokenize else {}
    return tf2_module(call_traces=traces, variables=None, trainable=None, losses=(), **extra)


TF2_EMBEDDING = _text_model(_TEXTS, tensor_spec(shape=(None, 8)))
TF2_PREPROCESSOR = _text_model(_TEXTS, _IDS, training=(False, True), tokenize=True)
TF2_ENCODER = _text_model(_IDS, StructDict((("default", tensor_spec(shape=(None, 8))),
                                            ("pooled_output", tensor_spec(shape=(None, 8))),
                                            ("sequence_output", tensor_spec(shape=(None, 4, 8))))))


def test_tf2_text_embedding_is_judged_by_the_tf1_text_runtime_rules():
    check("TXT711", TF2_EMBEDDING)(passes="runs for B=1, 2, 5, 10 on every synthetic string")
    check("TXT712", TF2_EMBEDDING, model=nan_for("empty"))(fail="NaN or Inf for empty")
    check("TXT714", TF2_EMBEDDING, model=random_each_run)(fail="randomness is active")
    check("TXT715", TF2_EMBEDDING, model=constant)(fail="the embedding ignores its input")
    check("TXT711", TF2_PREPROCESSOR)(skip="its API: preprocessor; see TXT756-TXT758")


def test_tf2_preprocessor_inference_passes_and_ignores_training():
    check("TXT756", TF2_PREPROCESSOR)(passes="int32 [B, 4] tensors and training=True gives the same tensors")
    check("TXT756", TF2_EMBEDDING)(skip="its API: embedding")


def _masked_when_training(batch):
    return {"input_word_ids": np.full((len(batch.images), 4), 0.0 if batch.training else 3.0)}


def test_tf2_preprocessor_inference_fails_when_training_changes_outputs_or_shapes_differ():
    check("TXT756", TF2_PREPROCESSOR, model=_masked_when_training)(fail="training=True changes input_word_ids")
    check("TXT756", TF2_PREPROCESSOR, shapes={"input_mask": lambda b: (b, 6)})(fail="different seq_lengths [4, 6]")
    check("TXT756", TF2_PREPROCESSOR, shapes={"input_word_ids": lambda b: (1, 4)})(fail="expected int32 [B, seq_length]")
    check("TXT756", TF2_PREPROCESSOR, probe_errors={"text-all": "InvalidArgumentError: empty"})(
        fail="failed on long, out-of-vocabulary")


def test_tf2_encoder_inference_on_synthetic_token_ids():
    check("TXT757", TF2_ENCODER)(passes="synthetic token ids at B=1, 2, 5 give 'default' float32 [B, dim]")
    check("TXT757", TF2_ENCODER, shapes={"default": lambda b: (max(1, b - 1), 8)})(
        fail="'default' is float32 [1, 8], expected float32 [B, dim]")
    check("TXT757", TF2_ENCODER, shapes={"sequence_output": lambda b: (b, 8)})(fail="[B, seq_length, dim]")
    check("TXT757", TF2_ENCODER, probe_errors={"tf2-ids-2": "InvalidArgumentError: indices"})(fail="B=2: failed")
    check("TXT757", TF2_PREPROCESSOR)(skip="its API: preprocessor")


def test_tf2_tokenize_inference_wants_one_int32_ragged_row_per_string():
    check("TXT758", TF2_PREPROCESSOR)(passes="int32 RaggedTensor (ragged rank 1) with one row per string")
    check("TXT758", TF2_PREPROCESSOR, details={"tf2-tokenize": {"rows": 9}})(fail="9 rows) for 10 strings")
    check("TXT758", TF2_PREPROCESSOR, details={"tf2-tokenize": {"type": "EagerTensor", "ragged_rank": 0}})(
        fail="a EagerTensor of int32")
    check("TXT758", TF2_PREPROCESSOR, probe_errors={"tf2-tokenize": "UnicodeDecodeError"})(fail="tokenize fails")
