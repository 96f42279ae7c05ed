"""How a result is named and ordered, wherever it is shown.

The terminal report, the CI formats (``render/*``) and the pytest plugin say
``IMG302 input-dtype [image_feature_vector]``, ``{serve, train}``, ``FAIL`` and
``1 fail, 33 pass`` the same way because they all take the words from here.
Standard library only: importing it costs nothing, so every face can.
"""

from __future__ import annotations

# The order of a report's summary (and of its JSON ``summary`` object: a contract).
STATUSES = ("pass", "fail", "warn", "skip", "error")
# The order a count line lists them in: what went wrong first.
ATTENTION_ORDER = ("fail", "error", "warn", "pass", "skip")
# The statuses a reader must look at; pass and skip are only counted.
NOTEWORTHY = ("fail", "warn", "error")
COUNTED_ONLY = ("pass", "skip")
# Verdicts from best to worst: the worst of several modules heads a summary.
VERDICT_ORDER = ("pass", "not-applicable", "incomplete", "fail", "error")
VERDICT_LABELS = {"pass": "PASS", "fail": "FAIL", "not-applicable": "NOT AN IMAGE MODULE", "error": "ERROR",
                  "incomplete": "INCOMPLETE"}
# A rule's severity (rules/*.toml, [tool.sigcheck] severity overrides).
SEVERITIES = ("error", "warning")
# Results about one of these files as a whole (their location is the file name), not a place inside a graph.
MODULE_FILES = ("saved_model.pb", "tfhub_module.pb")

SPEC_URLS = {
    "images": "https://www.tensorflow.org/hub/common_signatures/images",
    "tf1-hub-format": "https://www.tensorflow.org/hub/tf1_hub_module",
    "text": "https://www.tensorflow.org/hub/common_signatures/text",
    "reusable-saved-models": "https://www.tensorflow.org/hub/reusable_saved_models",
    "images-tf2": "https://www.tensorflow.org/hub/common_saved_model_apis/images",
    "text-tf2": "https://www.tensorflow.org/hub/common_saved_model_apis/text",
}


def spec_url(spec: str) -> str:
    """``images#input`` -> https://www.tensorflow.org/hub/common_signatures/images#input (KeyError: unknown page)."""
    page, _, anchor = spec.partition("#")
    base = SPEC_URLS[page]
    return f"{base}#{anchor}" if anchor else base


def tag_set(tags) -> str:
    """``{}`` for the empty tag set, ``{serve, train}`` otherwise (messages, headers, CI formats)."""
    return "{" + ", ".join(tags) + "}"


def compact_tag_set(tags) -> str:
    """``{serve,train}``: the narrow form for a table column and a pytest item id."""
    return "{" + ",".join(tags) + "}"


def escape_newlines(text: str) -> str:
    """One line that still shows where the line breaks were (``\\n``), for line-oriented output."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def about_file(result) -> bool:
    """Whether a result judges a whole file (HUB101, HUB102), not a place inside a meta graph."""
    return result.location in MODULE_FILES


def scope(result) -> str:
    """Where in the module a result is: signature, tag set (when not the obvious {}), or ''."""
    parts = []
    if result.signature:
        parts.append(result.signature)
    if result.tags is not None and (result.tags or not result.signature):
        parts.append(tag_set(result.tags))
    return " ".join(parts)


def title(result) -> str:
    """``IMG302 input-dtype [image_feature_vector]``: unique within a module's results."""
    where = scope(result)
    return f"{result.rule} {result.name}" + (f" [{where}]" if where else "")


def message(result) -> str:
    """The result's message; for ``error`` saying that the rule was not judged at all."""
    if result.status == "error":
        return f"the check did not complete: {result.message}"
    return result.message


def counts(summary: dict, order=ATTENTION_ORDER, none: str = "no results") -> str:
    """``1 fail, 33 pass, 2 skip``: in ``order`` (by default what went wrong first), zeros left out."""
    return ", ".join(f"{summary[s]} {s}" for s in order if summary.get(s)) or none
