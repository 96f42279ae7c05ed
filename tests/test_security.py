"""SEC601 against hostile modules (issue 9) and malformed graphs (issue 17).

Each hostile fixture hides a file write (the canary, ``marker_path``) where an
earlier SEC601 did not look.  sigcheck must fail SEC601 naming the op and its
path, and never write the canary, statically or in a full run with default
settings.  Plain TensorFlow loading and running the same module does write it:
the escape is real, so the fixture is not vacuous.  Fast tests on hand-made
facts cover the walk's logic.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from helpers import REPO, rule_verdicts, run_sigcheck, run_sigcheck_inprocess
import sigcheck.fixtures
from sigcheck.analysis.execution import unsafe_ops
from sigcheck.engine import effective_options
from sigcheck.facts.graph import walk_back
from sigcheck.facts.model import FunctionFacts, GraphFacts, MetaGraphFacts, NodeFacts
from sigcheck.facts.reader import read_module
from sigcheck.rules import rule_by_code

CATALOG = sigcheck.fixtures.catalog
OPTIONS = effective_options(rule_by_code("SEC601"), {})
HOSTILE = {  # recipe -> (op SEC601 must name, a node on the path it must show)
    "sec601-function-attr": ("WriteFile", "Evil:write"),
    "sec601-function-op": ("WriteFile", "evil/call (Outer)"),
    "sec601-op-as-function": ("WriteFile", "an op run as a function"),
    "sec601-repeated-function": ("WriteFile", "F:write"),
    "sec601-default-saver": ("WriteFile", "snapshot_name"),
    "sec601-restore-merge": ("MergeV2Checkpoints", "restore op"),
    "sec601-duplicate-tags": ("WriteFile", "evil/write"),
    "stress-many-calls-write": ("WriteFile", "F299:write"),
    "sec601-odd-roots": ("WriteFile", "^init (NoOp)"),
}
# The escapes plain TensorFlow 2.21 really runs (tags to load; None: every meta graph).  It refuses
# the others: a call target that is no function, a library defining one name twice.
REAL = {"sec601-function-attr": None, "sec601-function-op": None, "sec601-default-saver": None,
        "sec601-restore-merge": None, "sec601-duplicate-tags": "train"}


def canaries(module_dir: str) -> list:
    return glob.glob(glob.escape(CATALOG.marker_path(module_dir)) + "*")


def sec601(report: dict) -> list:
    return [r for r in report["results"] if r["rule"] == "SEC601" and r["status"] == "fail"]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_static_sec601_names_the_op_and_its_path(name, modules, once_per_run):
    path = modules.build(name)
    # the same run as test_static_rules.py's of this fixture: made once, whichever asks first
    run = once_per_run(f"static-{name}", lambda: run_sigcheck_inprocess("--static", "--format", "json", path))
    assert run.returncode == 1  # without TensorFlow: test_static_rules.py's one-interpreter run of every fixture
    op, step = HOSTILE[name]
    assert any(op in r["message"] and step in r["message"] for r in sec601(run.json)), sec601(run.json)
    assert not canaries(path)


@pytest.mark.runtime
def test_full_runs_never_write_the_canary(modules):
    paths = [modules.build(name) for name in sorted(HOSTILE)]
    run = run_sigcheck("--format", "json", "--jobs", "2", *paths)
    assert run.returncode == 1, run.stderr
    for path, report in zip(paths, run.json["reports"]):
        assert rule_verdicts(report)["SEC601"] == "fail", path
        runtime = [r for r in report["results"] if r["rule"] in CATALOG.GATED_RUNTIME_RULES]
        assert runtime and all(r["status"] == "skip" and "--allow-unsafe-ops" in r["message"] for r in runtime)
        assert not canaries(path), f"sigcheck executed {path}"


@pytest.mark.runtime
def test_tags_select_the_meta_graph_tensorflow_loads(modules):
    """[train, train] comes before {train}: TensorFlow loads it for --tags train, so sigcheck judges it."""
    path = modules.build("sec601-duplicate-tags")
    static = run_sigcheck_inprocess("--static", "--format", "json", "--tags", "train", path).json
    assert [r["tags"] for r in sec601(static)] == [["train"]]
    assert [r["tags"] for r in static["results"] if r["rule"] == "SEC601"] == [["train"]]  # that one only
    hub102 = [r["message"] for r in static["results"] if r["rule"] == "HUB102" and r["status"] == "fail"]
    assert hub102 and "lists tag(s) train more than once" in hub102[0] and "{train} appears more" in hub102[0]
    full = run_sigcheck("--format", "json", "--tags", "train", path)
    assert full.returncode == 1 and rule_verdicts(full.json)["RUN501"] == "skip"
    assert not canaries(path)


@pytest.fixture(scope="module")
def escapes(modules, tmp_path_factory, once_per_run):
    """name -> whether plain TensorFlow wrote the canary of REAL's fresh copy of it: one
    interpreter runs them all (one TensorFlow import, not one per module), once per run."""
    def execute():
        root = tmp_path_factory.mktemp("escapes")
        paths = {name: sigcheck.fixtures.build(name, str(root / name), workspace=modules) for name in sorted(REAL)}
        pairs = [a for name, path in paths.items() for a in (path, REAL[name] or "-")]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, str(REPO / "tests" / "tf_execute.py"), "--each", *pairs], env=env,
                              capture_output=True, text=True, timeout=600)
        return done.returncode, done.stdout + done.stderr[-2000:], {n: bool(canaries(p)) for n, p in paths.items()}

    return once_per_run("tf-execute-escapes", execute)


@pytest.mark.runtime
@pytest.mark.parametrize("name", sorted(REAL))
def test_the_escape_is_real_when_tensorflow_runs_the_module(name, escapes):
    returncode, output, written = escapes
    assert returncode == 0, output
    assert written[name], f"TensorFlow did not run what {name} hides: the fixture proves nothing\n{output}"


def test_malformed_graphs_are_judged_not_crashed(modules):
    report = run_sigcheck_inprocess("--static", "--format", "json", modules.build("sec601-empty-input")).json
    failed = sec601(report)
    assert failed and all("malformed" in r["message"] and "has an empty input" in r["message"] for r in failed)
    assert not [r for r in report["results"] if r["status"] == "error"]


def test_odd_roots_are_judged_by_name_not_by_display_string(modules):
    path = modules.build("sec601-odd-roots")
    report = run_sigcheck_inprocess("--static", "--format", "json", path).json
    assert not [r for r in report["results"] if r["status"] == "error"]
    messages = [r["message"] for r in sec601(report)]
    assert any("malformed" in m and "table_initializer names ''" in m for m in messages)
    assert any("WriteFile" in m and "init op table_initializer <- ^init (NoOp) (NoOp)" in m for m in messages)
    assert not canaries(path)


def test_the_synthetic_worst_case_is_judged_correctly(modules):
    safe = read_module(modules.build("stress-many-calls"))
    assert all(unsafe_ops(meta, OPTIONS) == [] for meta in safe.meta_graphs)
    meta = read_module(modules.build("stress-many-calls-write")).primary
    found = unsafe_ops(meta, OPTIONS)
    assert {f.op for f in found} == {"WriteFile"} and "F299:write (WriteFile)" in found[0].path[-1]


# --- fast tests on hand-made facts ---------------------------------------------------------

def _n(name, op, inputs=(), functions=()):
    return NodeFacts(name, op, tuple(inputs), tuple(functions))


def _meta(nodes, functions=(), **kw):
    graph = GraphFacts(tuple(nodes), tuple(functions))
    return MetaGraphFacts(tags=(), signatures=(), collections=(), attachments=(), graph=graph, **kw)


def test_each_function_body_is_walked_once_however_often_it_is_called():
    bodies = [FunctionFacts(f"F{i}", tuple(_n(f"b{j}", "Identity", functions=(f"F{i + 1}",) if i < 49 else ())
                                           for j in range(20))) for i in range(50)]
    calls = [_n(f"call{k}", "Case", functions=tuple(f"F{(k + j) % 50}" for j in range(10))) for k in range(500)]
    graph = GraphFacts(tuple(calls) + (_n("out", "NoOp", [f"^call{k}" for k in range(500)]),), tuple(bodies))
    walk = walk_back(graph, ["out"], functions=True)
    assert len(walk.order) == 501 + 50 * 20  # every node once, every body once
    deepest = next((s, n) for s, n, _ in walk.order if s == 49)
    assert walk.path(*deepest)[-1] == "=> F49:b0 (Identity)"


def test_every_definition_of_a_repeated_function_name_is_judged():
    library = (FunctionFacts("F", (_n("w", "WriteFile"),)), FunctionFacts("F", (_n("z", "Const"),)))
    meta = _meta([_n("call", "PartitionedCall", functions=("F",))], library)
    found = _unsafe(meta, ["call"])
    assert [f.op for f in found] == ["WriteFile"]


def test_a_node_whose_op_is_a_library_function_is_walked_with_its_attrs():
    library = (FunctionFacts("Outer", (_n("c", "PartitionedCall"),)), FunctionFacts("Evil", (_n("w", "WriteFile"),)))
    meta = _meta([_n("call", "Outer", functions=("Evil",))], library)
    assert [f.op for f in _unsafe(meta, ["call"])] == ["WriteFile"]


def _unsafe(meta, outputs):
    collection = sigcheck.facts.model.CollectionFacts("init_op", "node_list", tuple(outputs), len(outputs))
    return unsafe_ops(replace(meta, collections=(collection,)), OPTIONS)


@pytest.mark.parametrize("inputs, problem", [
    ([""], "has an empty input"),
    (["^"], "has an empty input"),
    (["ghost:0"], "takes input 'ghost:0', which is not a node of the graph"),
])
def test_malformed_inputs_are_findings(inputs, problem):
    found = _unsafe(_meta([_n("x", "Identity", inputs)]), ["x"])
    assert [f.op for f in found] == [None] and problem in found[0].problem


@pytest.mark.parametrize("root", ["", ":0", "^x", "x (Identity)", "nothing:1"])
def test_roots_that_name_no_node_are_findings(root):
    found = _unsafe(_meta([_n("x", "Identity"), _n("x (Identity)", "Const")]), [root])
    if root == "x (Identity)":
        assert found == []  # an odd name is still a name
    else:
        assert [f.op for f in found] == [None] and "not a node of the graph" in found[0].problem


def test_restore_ops_must_read_the_savers_filename_tensor(modules):
    meta = read_module(modules.build("classifier-conformant")).primary
    assert meta.has_saver_def and unsafe_ops(meta, OPTIONS) == []
    restore = next(n for n in meta.graph.nodes if n.op == "RestoreV2")
    foreign = restore._replace(inputs=("elsewhere",) + restore.inputs[1:])
    nodes = tuple(foreign if n is restore else n for n in meta.graph.nodes) + (_n("elsewhere", "Const"),)
    found = unsafe_ops(replace(meta, graph=GraphFacts(nodes, meta.graph.functions)), OPTIONS)
    assert [f.op for f in found] == ["RestoreV2"]
    assert "'elsewhere:0', not the saver's filename tensor" in found[0].problem


def test_without_a_saver_def_the_default_savers_tensors_are_walked(modules):
    meta = read_module(modules.build("fv-conformant")).primary
    assert not meta.has_saver_def and meta.variable_defs
    assert {v.collection for v in meta.variable_defs} >= {"variables", "trainable_variables"}
    with_def = replace(meta, has_saver_def=True)
    hostile = read_module(modules.build("sec601-default-saver")).primary
    assert [f.op for f in unsafe_ops(hostile, OPTIONS)] == ["WriteFile"]
    assert unsafe_ops(replace(hostile, has_saver_def=True), OPTIONS) == []  # a saver_def's restore replaces it
    assert unsafe_ops(with_def, OPTIONS) == []


def test_loaded_for_matches_tag_sets_like_tensorflows_loader(modules):
    facts = read_module(modules.build("sec601-duplicate-tags"))
    assert [m.tags_as_written for m in facts.meta_graphs] == [(), ("train", "train"), ("train",)]
    assert facts.tag_sets == ((), ("train",), ("train",))
    assert facts.loaded_for(("train",)) is facts.meta_graphs[1]
    assert facts.loaded_for(("train", "train")) is facts.meta_graphs[1]
    assert facts.loaded_for(("serve",)) is None


@pytest.mark.parametrize("recipe, planned", [("sec601-duplicate-tags", [(), ("train",)]),
                                             ("hub102-repeated-tags", [()])])
def test_the_plan_holds_exactly_the_meta_graphs_tensorflow_loads(modules, recipe, planned):
    """A meta graph shadowed by an earlier one with its tag set is never loaded: planning it
    would run its probes on the earlier graph and file them under the same tags."""
    from sigcheck.runtime.plan import make_plan

    path = modules.build(recipe)
    facts = read_module(path)
    plan = make_plan(facts, path, batch_sizes=(1,), dropout_runs=2, max_batch_bytes=1 << 30)
    assert [t.tags for t in plan.tag_sets] == planned
    assert all(facts.loaded_for(t.tags) is not None for t in plan.tag_sets)


@pytest.mark.runtime
def test_a_meta_graph_shadowed_by_its_tag_set_is_not_run_again(modules):
    """TensorFlow loads the first {} for both: one run, with the inference probes, not a second
    'dropout' run of the same graph filed under the same tags."""
    from sigcheck.runtime.plan import make_plan
    from sigcheck.runtime.runner import Worker

    path = modules.build("hub102-repeated-tags")
    plan = make_plan(read_module(path), path, batch_sizes=(1,), dropout_runs=2, max_batch_bytes=1 << 30)
    with Worker(read_roots=(path,)) as worker:
        observations = worker.run(plan, timeout=300)
    assert [run.tags for run in observations.tag_sets] == [()]
    probes = next(iter(observations.tag_sets[0].probes.values()))
    assert "all" in probes and "dropout" not in probes


@pytest.mark.parametrize("caller, proven", [
    (_n("restore", "StatefulPartitionedCall", ["saver_filename", "^x"], ("Restorer",)), True),
    (_n("restore", "Restorer", ["saver_filename:0"]), True),
    (_n("restore", "StatefulPartitionedCall", ["elsewhere"], ("Restorer",)), False),
    (_n("restore", "If", ["saver_filename", "saver_filename"], ("Restorer",)), False),
])
def test_a_restore_function_must_be_called_with_the_filename_tensor(caller, proven):
    """TensorFlow 2 exports restore through a function whose RestoreV2 reads an input arg."""
    body = (_n("RestoreV2", "RestoreV2", ["file_prefix", "names", "slices"]), _n("names", "Const"),
            _n("slices", "Const"))
    restorer = FunctionFacts("Restorer", body, ("file_prefix",))
    nodes = [caller, _n("saver_filename", "Placeholder"), _n("elsewhere", "Const"), _n("x", "NoOp")]
    meta = _meta(nodes, (restorer,), restore_op="restore", has_saver_def=True, saver_filename="saver_filename:0")
    found = unsafe_ops(meta, OPTIONS)
    assert (found == []) is proven, found
    if not proven:
        assert [f.op for f in found] == ["RestoreV2"] and "not the saver's filename tensor" in found[0].problem


@pytest.mark.runtime
def test_a_recursive_function_passes_sec601_and_its_crash_stays_in_the_worker(modules):
    """SEC601 does not judge cost: TensorFlow crashes instantiating the recursion, the
    worker's isolation turns that into error results, and the report still renders."""
    recipe = CATALOG.recipe("run-recursive-function")
    run = run_sigcheck("--format", "json", *recipe.run_args, modules.build(recipe.name))
    # exit 4: the only problems are checks that could not complete (the "incomplete" verdict)
    assert run.returncode == 4 and "Traceback" not in run.stderr
    assert run.json["verdict"] == "incomplete"
    verdicts = rule_verdicts(run.json)
    assert verdicts["SEC601"] == "pass"
    errors = [r["message"] for r in run.json["results"] if r["status"] == "error"]
    assert {r["rule"] for r in run.json["results"] if r["status"] == "error"} == set(
        CATALOG.IMAGE_RUNTIME_RULES)
    assert all("inference process was killed by SIGSEGV" in e for e in errors), errors
