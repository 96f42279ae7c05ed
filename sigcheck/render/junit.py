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
module as the "package" and the signature as the "class".  ``time="0"``
because strict parsers need the attribute and sigcheck does not time rules.

XML 1.0 cannot carry most control characters at all, even escaped; they are
written as ``\\xNN`` so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..facts.model import format_tags
from ._common import counts, message, spec_link, title

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STATUS_ELEMENT = {"fail": "failure", "error": "error", "skip": "skipped"}


def _text(value) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def render(reports, **_options) -> str:
    root = ET.Element("testsuites", name="sigcheck")
    for report in reports:
        root.append(_suite(report))
    _count(root, root.findall("testsuite"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(report) -> ET.Element:
    suite = ET.Element("testsuite", name=_text(report.module))
    module = "sigcheck." + _text(report.module).rstrip("/").replace(".", "_")
    if report.error is not None:
        case = ET.SubElement(suite, "testcase", classname=module, name="read module", time="0")
        ET.SubElement(case, "error", message=_text(report.error.message), type=_text(report.error.type)).text = \
            _text(f"could not be read ({report.error.type}): {report.error.message}")
    for result in report.results:
        suite.append(_case(module, result))
    _count(suite, [suite])
    ET.SubElement(suite, "system-out").text = _text(
        f"verdict: {report.verdict}" + ("" if report.error else f" ({counts(report.summary)})"))
    return suite


def _case(module: str, result) -> ET.Element:
    group = result.signature or ("tag set " + format_tags(result.tags) if result.tags is not None else "module")
    case = ET.Element("testcase", classname=f"{module}.{_text(group)}", name=_text(title(result)), time="0")
    detail = _text(f"{result.rule} {result.name}: {message(result)}\nspec: {spec_link(result)}"
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


def _count(element: ET.Element, suites) -> None:
    """tests/failures/errors/skipped attributes, summed over the test cases below."""
    cases = [case for suite in suites for case in suite.iter("testcase")]
    totals = {"tests": len(cases)}
    for attribute, child in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        totals[attribute] = sum(case.find(child) is not None for case in cases)
    for key, value in {**totals, "time": 0}.items():
        element.set(key, str(value))
