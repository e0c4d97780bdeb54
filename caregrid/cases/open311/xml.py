"""Open311 GeoReport v2 documents in both formats: the XML of the spec (schemaless, no namespace) and the
JSON that maps to it by the Spark convention (the root element and list item tags disappear)."""

import json
import re
import xml.etree.ElementTree as ET

from django.http import HttpResponse

# The tag of one item inside each list element of the spec.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}
FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# Characters XML 1.0 cannot carry at all (even escaped); they are dropped rather than breaking the document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _element(tag: str, value) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, list):
        item_tag = ITEM_TAGS[tag]
        element.extend(_element(item_tag, item) for item in value)
    elif isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    else:
        element.text = _text(value)
    return element


def to_xml(root: str, value) -> bytes:
    """`value` (a list of dicts, or a dict) under the root element, with the UTF-8 declaration the spec asks for."""
    body = ET.tostring(_element(root, value), encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()


def to_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def document(fmt: str, root: str, value, status: int = 200) -> HttpResponse:
    """The response for one resource: `root` names the XML root element (JSON has none)."""
    content = to_xml(root, value) if fmt == "xml" else to_json(value)
    return HttpResponse(content, status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, descriptions: list[str]) -> HttpResponse:
    """The spec's error document: one entry per problem, each with the HTTP status as its code."""
    fmt = fmt if fmt in FORMATS else "xml"
    return document(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status)


class Open311Error(Exception):
    """A refused call: the HTTP status and one or more descriptions for the spec's error document."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = list(descriptions)
