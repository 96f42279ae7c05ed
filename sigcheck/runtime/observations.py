"""What the worker saw, as read-only objects for the runtime checks.

Indexed the way checks ask: for a tag set and a signature, the probes of the
group serving it, each probe's runs, and per run the shapes, finiteness and
(for ``default`` outputs) the values.  Each probe carries the labels of its
inputs, so checks name them without knowing how the runtime made them.
These plain frozen objects are also what ``sigcheck.testing`` builds in-process
for fast rule tests; a new input kind reuses them (labels say what was fed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import batches, strings
from .plan import Plan


@dataclass(frozen=True)
class Run:
    shapes: dict  # tensor -> tuple
    finite: dict  # tensor -> bool
    values: dict  # tensor -> np.ndarray (default outputs only)
    dtypes: dict = field(default_factory=dict)  # tensor -> dtype name, where the worker saw it (TF2)


@dataclass(frozen=True)
class ProbeResult:
    name: str
    images: tuple  # the inputs' indices, one per row of the batch
    scale: float
    runs: tuple  # of Run
    error: Optional[str] = None
    labels: tuple = ()  # what each row's input was ("black", ...), for messages; aligned with images
    details: dict = field(default_factory=dict)  # what else a probe saw (the Keras probes: weight counts)

    def label(self, index: int) -> str:
        """The label of input ``index`` (an entry of ``images``)."""
        return self.labels[self.images.index(index)] if index in self.images else str(index)


@dataclass(frozen=True)
class TagSetRun:
    tags: tuple
    load_error: Optional[str] = None
    variables_error: Optional[str] = None
    variables: int = 0
    probes: dict = field(default_factory=dict)  # input tensor -> {probe name: ProbeResult}
    unregistered_ops: Optional[tuple] = None  # op types TensorFlow does not register; None: not asked

    @property
    def loaded(self) -> bool:
        return not (self.load_error or self.variables_error)


@dataclass(frozen=True)
class Observations:
    plan: Plan
    tag_sets: tuple  # of TagSetRun

    def for_tags(self, tags) -> Optional[TagSetRun]:
        return next((t for t in self.tag_sets if t.tags == tuple(tags)), None)

    def probes(self, tags, signature: str) -> Optional[dict]:
        """{probe name: ProbeResult} for the group that serves ``signature`` in ``tags``."""
        run = self.for_tags(tags)
        tag_plan = self.plan.for_tags(tags)
        group = tag_plan.group_for(signature) if tag_plan else None
        if run is None or group is None:
            return None
        return run.probes.get(group.input_tensor)

    def tensor(self, tags, signature: str, key: str) -> Optional[str]:
        tag_plan = self.plan.for_tags(tags)
        group = tag_plan.group_for(signature) if tag_plan else None
        return group.tensor(signature, key) if group else None


def load_observations(plan: Plan, out_dir: str) -> Observations:
    with open(os.path.join(out_dir, "observations.json"), encoding="utf-8") as f:
        raw = json.load(f)
    with np.load(os.path.join(out_dir, "observations.npz"), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    tag_sets = []
    for t_index, entry in enumerate(raw["tag_sets"]):
        probes = {}
        for g_index, group in enumerate(entry.get("groups", [])):
            prefix = f"{t_index}/{g_index}"
            planned = plan.tag_sets[t_index].groups[g_index] if t_index < len(plan.tag_sets) and \
                g_index < len(plan.tag_sets[t_index].groups) else None
            names = strings.NAMES if planned is not None and planned.input_kind in ("text", "tokens") else batches.NAMES
            probes[group["input_tensor"]] = {
                p["name"]: _probe(p, prefix, arrays, names) for p in group["probes"]
            }
        tag_sets.append(TagSetRun(
            tags=tuple(entry["tags"]),
            load_error=entry.get("load_error"),
            variables_error=entry.get("variables_error"),
            variables=entry.get("variables", 0),
            probes=probes,
            unregistered_ops=None if "unregistered_ops" not in entry else tuple(entry["unregistered_ops"]),
        ))
    return Observations(plan, tuple(tag_sets))


def _probe(raw: dict, prefix: str, arrays: dict, names: tuple = batches.NAMES) -> ProbeResult:
    runs = []
    for index, run in enumerate(raw["runs"]):
        outputs = run["outputs"]
        values = {t: arrays[f"{prefix}/{raw['name']}/{index}/{t}"] for t in outputs
                  if f"{prefix}/{raw['name']}/{index}/{t}" in arrays}
        runs.append(Run(
            shapes={t: tuple(o["shape"]) for t, o in outputs.items()},
            finite={t: o["finite"] for t, o in outputs.items()},
            values=values,
            dtypes={t: o["dtype"] for t, o in outputs.items() if "dtype" in o},
        ))
    images = tuple(raw["images"])
    return ProbeResult(raw["name"], images, raw["scale"], tuple(runs), raw.get("error"),
                       labels=tuple(names[i] for i in images), details=dict(raw.get("details", {})))
