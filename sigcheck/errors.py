"""Errors that end a run with a one-line message and exit code 2.

Anything raised as a SigcheckError is the user's input being unusable (a path,
an archive, a flag, a config value); the CLI prints ``sigcheck: error: <msg>``
and never a traceback.  Problems *inside* a readable module are not errors but
rule results.
"""


def one_line(text) -> str:
    """An exception or message as one line of words (whitespace runs, newlines included, become one space)."""
    return " ".join(str(text).split())


class SigcheckError(Exception):
    """Base class: the message is one line meant for the user."""

    kind = "error"
    exit_code = 2


class ResolveError(SigcheckError):
    """The handle could not be turned into a local module directory."""

    kind = "resolve"


class ReadError(SigcheckError):
    """The directory is not a readable SavedModel."""

    kind = "read"


class UsageError(SigcheckError):
    """The command line was wrong."""

    kind = "usage"


class ConfigError(SigcheckError):
    """A configuration file or value is invalid."""

    kind = "config"
