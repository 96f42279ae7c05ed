"""JUnit XML, for the test panels of GitLab, Jenkins and GitHub test-reporter actions.

Those viewers know tests, not lint findings, so every result is a test case:
``fail`` a ``<failure>``, a check that crashed (``error``) an ``<error>``, a
rule that did not apply ``<skipped>``.  A ``warn`` does not fail the build by
default, so it passes with its message in ``<system-out>`` where the viewers
show it.  One ``<testsuite>`` per module; a module that could not be read is
one erroring test case, so the pipeline shows why instead of an empty suite.

Test case names are ``IMG302 input-dtype [image_feature_vector]`` and class
names ``sigcheck.<module>.<signature or tag set>``: Jenkins splits class names
at the last dot, so dots inside the module handle become ``_`` to keep the
module as the "package" and the signature as the "class"; spaces, braces and
other characters that are not identifier-like become ``_`` too (``tags_serve``),
since several viewers turn class names into file names or links.

The document keeps to the JUnit schema Jenkins' xunit plugin validates against
(junit-10.xsd): ``<testsuites>`` carries name/time/tests/failures/errors only
(no ``skipped``), ``<testsuite>`` always has tests/failures/errors, and times are
decimal seconds.  A suite's time is the module's real check time; rules are not
timed one by one, so test cases say ``time="0"`` (strict parsers need it).

XML 1.0 cannot carry most control characters at all, even escaped; they are
written as ``\\xNN`` so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..vocabulary import counts, message, title

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STATUS_ELEMENT = {"fail": "failure", "error": "error", "skip": "skipped"}


def _text(value) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_/-]+")
# What junit-10.xsd allows on <testsuites>; <testsuite> also has skipped.
_SUITES_COUNTS = ("tests", "failures", "errors")


def _ident(value: str) -> str:
    """A class-name part: runs of anything but letters, digits, ``_``, ``-`` and ``/`` become ``_``."""
    return _NOT_IDENTIFIER.sub("_", str(value)).strip("_") or "_"


def render(reports, **_options) -> str:
    root = ET.Element("testsuites", name="sigcheck")
    for report in reports:
        root.append(_suite(report))
    _count(root, root.findall("testsuite"), _SUITES_COUNTS)
    root.set("time", _seconds(sum(r.seconds or 0.0 for r in reports)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(report) -> ET.Element:
    suite = ET.Element("testsuite", name=_text(report.module))
    module = "sigcheck." + _ident(report.module.rstrip("/").replace(".", "_"))
    if report.error is not None:
        case = ET.SubElement(suite, "testcase", classname=module, name="read module", time="0")
        ET.SubElement(case, "error", message=_text(report.error.message), type=_text(report.error.type)).text = \
            _text(f"could not be read ({report.error.type}): {report.error.message}")
    for result in report.results:
        suite.append(_case(module, result))
    _count(suite, [suite])
    suite.set("time", _seconds(report.seconds or 0.0))
    ET.SubElement(suite, "system-out").text = _text(
        f"verdict: {report.verdict}" + ("" if report.error else f" ({counts(report.summary)})"))
    return suite


def _case(module: str, result) -> ET.Element:
    if result.signature:
        group = result.signature
    elif result.tags is not None:
        group = "tags_" + "_".join(result.tags) if result.tags else "tags_empty"
    else:
        group = "module"
    case = ET.Element("testcase", classname=f"{module}.{_ident(group.replace('.', '_'))}", name=_text(title(result)),
                      time="0")
    detail = _text(f"{result.rule} {result.name}: {message(result)}\nspec: {result.spec_url}"
                   + (f"\nlocation: {result.location}" if result.location else "")
                   + (f"\nevidence: {result.evidence}" if result.evidence else ""))
    element = _STATUS_ELEMENT.get(result.status)
    if element == "skipped":
        ET.SubElement(case, element, message=_text(result.message))
    elif element:
        ET.SubElement(case, element, message=_text(message(result)), type=result.rule).text = detail
    elif result.status == "warn":
        ET.SubElement(case, "system-out").text = "WARNING " + detail
    return case


def _count(element: ET.Element, suites, attributes=("tests", "failures", "errors", "skipped")) -> None:
    """tests/failures/errors/skipped attributes, summed over the test cases below."""
    cases = [case for suite in suites for case in suite.iter("testcase")]
    totals = {"tests": len(cases)}
    for attribute, child in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        totals[attribute] = sum(case.find(child) is not None for case in cases)
    for key in attributes:
        element.set(key, str(totals[key]))


def _seconds(value: float) -> str:
    """``4.213``: junit-10.xsd's SUREFIRE_TIME is plain decimals (no exponent, no sign)."""
    return f"{max(value, 0.0):.3f}"
