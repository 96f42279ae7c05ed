"""Metrics over two modules' outputs for the same synthetic images (pure numpy).

Per shared output: the max absolute difference and the max relative one
(|new - old| over max |old|).  For a feature vector's ``default`` the cosine
similarity per image (min and mean); for a classifier's ``default`` top-1
agreement and top-5 overlap.  ``THRESHOLDS`` are the defaults the config's
``[tool.sigcheck.diff]`` overrides; a metric beyond its threshold is a finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

THRESHOLDS = {
    "max_relative_difference": 0.01,  # any shared output: max |new - old| / max |old|
    "min_cosine": 0.99,  # feature vectors: the least similar image
    "min_top1_agreement": 1.0,  # classifiers: share of images with the same top-1 class
    "min_top5_overlap": 0.8,  # classifiers: mean share of the top-5 classes in common
}


@dataclass(frozen=True)
class OutputComparison:
    signature: str
    key: str
    metrics: dict  # name -> float
    findings: tuple = ()  # one line each
    skipped: str = ""  # why no metric was computed (shapes differ, not numeric)
    worst_image: str = ""

    def to_json(self) -> dict:
        metrics = {k: (v if math.isfinite(v) else None) for k, v in self.metrics.items()}  # JSON has no Inf
        return {"signature": self.signature, "key": self.key, "metrics": metrics,
                "worst_image": self.worst_image or None, "findings": list(self.findings),
                "skipped": self.skipped or None}


@dataclass(frozen=True)
class Behaviour:
    ran: bool
    reason: str = ""  # why not run (--static)
    images: tuple = ()
    outputs: tuple = ()  # of OutputComparison
    thresholds: dict = field(default_factory=dict)

    @property
    def findings(self) -> list:
        return [f for o in self.outputs for f in o.findings]

    def to_json(self) -> dict:
        return {"ran": self.ran, "reason": self.reason or None, "images": list(self.images),
                "thresholds": self.thresholds, "outputs": [o.to_json() for o in self.outputs]}


def task_of(signature: str, tasks: dict) -> str:
    """"classifier", "feature_vector" or "" for the ``default`` output of ``signature``."""
    if signature == "image_classification":
        return "classifier"
    if signature == "image_feature_vector":
        return "feature_vector"
    return tasks.get(signature, "")


def compare_outputs(old: dict, new: dict, labels: tuple, tasks: dict, thresholds: dict) -> tuple:
    """``old``/``new``: {(signature, key): array [images, ...]}; ``tasks``: signature -> task of its default."""
    import numpy as np

    compared = []
    for signature, key in sorted(set(old) & set(new)):
        a = np.asarray(old[signature, key], np.float64)
        b = np.asarray(new[signature, key], np.float64)
        if a.shape != b.shape:
            compared.append(OutputComparison(signature, key, {}, (), f"shapes differ: {list(a.shape)} vs {list(b.shape)}"))
            continue
        compared.append(_compare(signature, key, a, b, labels, task_of(signature, tasks) if key == "default" else "",
                                 thresholds))
    return tuple(compared)


def _compare(signature, key, a, b, labels, task, thresholds) -> OutputComparison:
    import numpy as np

    diff = np.abs(a - b)
    scale = float(np.nanmax(np.abs(a))) if a.size else 0.0
    per_image = diff.reshape(len(diff), -1).max(axis=1) if diff.size else np.zeros(0)
    worst = labels[int(np.nanargmax(per_image))] if per_image.size and np.isfinite(per_image).any() else ""
    metrics = {"max_abs_diff": float(np.nanmax(diff)) if diff.size else 0.0}
    metrics["max_rel_diff"] = metrics["max_abs_diff"] / scale if scale else (0.0 if not metrics["max_abs_diff"] else float("inf"))
    findings = []
    name = f"'{signature}' output '{key}'"
    if metrics["max_rel_diff"] > thresholds["max_relative_difference"]:
        findings.append(f"{name}: max relative difference {metrics['max_rel_diff']:.3g} > "
                        f"{thresholds['max_relative_difference']:g} (worst image: {worst})")
    if task == "feature_vector" and a.ndim == 2:
        cosine = _cosines(a, b)
        metrics.update(cosine_min=float(cosine.min()), cosine_mean=float(cosine.mean()))
        if metrics["cosine_min"] < thresholds["min_cosine"]:
            findings.append(f"{name}: cosine similarity {metrics['cosine_min']:.4f} < {thresholds['min_cosine']:g} "
                            f"for {labels[int(cosine.argmin())]}")
    if task == "classifier" and a.ndim == 2:
        top1 = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
        k = min(5, a.shape[1])
        ta, tb = np.argsort(-a, axis=1)[:, :k], np.argsort(-b, axis=1)[:, :k]
        top5 = float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb)]))
        metrics.update(top1_agreement=top1, top5_overlap=top5)
        if top1 < thresholds["min_top1_agreement"]:
            findings.append(f"{name}: top-1 agreement {top1:.3f} < {thresholds['min_top1_agreement']:g}")
        if top5 < thresholds["min_top5_overlap"]:
            findings.append(f"{name}: top-{k} overlap {top5:.3f} < {thresholds['min_top5_overlap']:g}")
    return OutputComparison(signature, key, metrics, tuple(findings), "", worst)


def _cosines(a, b):
    import numpy as np

    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    both_zero = (na == 0) & (nb == 0)
    cos = np.sum(a * b, axis=1) / np.where(na * nb == 0, 1.0, na * nb)
    return np.where(both_zero, 1.0, cos)
