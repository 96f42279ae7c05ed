"""GitHub Actions workflow commands: one annotation per result that needs attention.

``::error file=exports/model/saved_model.pb,title=IMG302 input-dtype [default]::'images' is uint8``
shows up on the run's summary page and, when the file is in the pull request,
next to it -- without uploading anything.  ``warn`` results become
``::warning``; passes and skips are only counted in the last line, a plain
summary that is not a command.  The title carries the signature or tag set
because the same rule often fails the same way in two signatures, and GitHub
folds identical annotations into one.

Escaping follows the runner's own (``toolkit/core/src/command.ts``): data
escapes ``%``, CR and LF; property values also ``:`` and ``,``.  Without it a
message containing a newline could start a command of its own.
"""

from __future__ import annotations

from ..vocabulary import NOTEWORTHY, VERDICT_LABELS, counts, escape_newlines, message, title
from ._common import artifact_file, artifact_path

_COMMANDS = {"fail": "error", "error": "error", "warn": "warning"}


def escape_data(value: str) -> str:
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, data: str, **properties) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name} {props}::{escape_data(data)}"


def render(reports, **_options) -> str:
    lines = []
    for report in reports:
        if report.error is not None:
            lines.append(command("error", f"could not be read: {report.error.message}",
                                 file=artifact_path(report.module), title="sigcheck: unreadable module"))
        for result in report.results:
            if result.status in NOTEWORTHY:
                lines.append(command(_COMMANDS[result.status], message(result),
                                     file=artifact_path(report.module, artifact_file(result)), title=title(result)))
    lines.append(_summary(reports))
    return "\n".join(lines) + "\n"


def _summary(reports) -> str:
    def one(report):
        detail = "unreadable" if report.error is not None else counts(report.summary)
        return f"{report.module}: {VERDICT_LABELS[report.verdict]} ({detail})"

    line = "sigcheck: " + "; ".join(one(report) for report in reports)
    return escape_newlines(line)  # one line, so it can never start a command
