"""Holds reelguard's API document to OpenAPI and real answers to the document.

Usage: openapi_check.py DOCUMENT.json OBSERVED.jsonl

1. Validates DOCUMENT with openapi-spec-validator (the OpenAPI 3.1 meta-schema and its
   semantic checks: references resolve, path parameters are declared, ids are unique).
2. For each observed answer (one JSON object a line: method, path template, status,
   content_type, body), checks that the operation documents that exact status, that the
   media type is one it lists, and that a JSON body validates against the response's schema
   (OpenAPI 3.1's JSON Schema dialect) with no field the schema does not name.

Prints one line per problem and exits 1 if there were any; prints a summary line otherwise.
"""

import copy
import json
import sys

from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate


def closed(doc):
    """The document's components with every object schema closed to unnamed fields.

    `unevaluatedProperties: false` goes on each schema that names properties or combines
    others with allOf (serde's flatten), but not on a schema used as an allOf part: the
    whole closes, counting the fields of every part, while a part alone would refuse the
    others' fields.
    """
    components = copy.deepcopy(doc.get("components", {}))
    schemas = components.get("schemas", {})
    parts = set()

    def note_parts(node):
        if isinstance(node, dict):
            for part in node.get("allOf", []):
                ref = part.get("$ref", "") if isinstance(part, dict) else ""
                if ref.startswith("#/components/schemas/"):
                    parts.add(ref.rsplit("/", 1)[1])
            for value in node.values():
                note_parts(value)
        elif isinstance(node, list):
            for value in node:
                note_parts(value)

    note_parts(schemas)

    def close(node, is_part):
        if isinstance(node, dict):
            if (
                not is_part
                and ("properties" in node or "allOf" in node)
                and "additionalProperties" not in node
            ):
                node["unevaluatedProperties"] = False
            for key, value in node.items():
                if key == "allOf":
                    for part in value:
                        close(part, True)
                else:
                    close(value, False)
        elif isinstance(node, list):
            for value in node:
                close(value, False)

    for name, schema in schemas.items():
        close(schema, name in parts)
    return components


def media(content_type):
    return (content_type or "").split(";")[0].strip().lower()


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    validate(doc)
    components = closed(doc)
    problems = []
    checked = 0
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            seen = json.loads(line)
            where = f"{seen['method']} {seen['path']} -> {seen['status']}"
            op = doc["paths"].get(seen["path"], {}).get(seen["method"].lower())
            if op is None:
                problems.append(f"{where}: the document has no such operation")
                continue
            response = op["responses"].get(str(seen["status"]))
            if response is None:
                problems.append(f"{where}: status not documented")
                continue
            content = response.get("content")
            if not content:
                continue
            listed = {media(k): v for k, v in content.items()}
            got = media(seen.get("content_type"))
            if got not in listed:
                problems.append(f"{where}: media type {got!r} not in {sorted(listed)}")
                continue
            schema = listed[got].get("schema")
            if got != "application/json" or schema is None:
                checked += 1
                continue
            root = dict(schema)
            root["components"] = components
            errors = sorted(
                OAS31Validator(root).iter_errors(seen["body"]), key=lambda e: list(e.path)
            )
            for e in errors[:3]:
                at = "/".join(str(p) for p in e.absolute_path)
                problems.append(f"{where}: at /{at}: {e.message[:300]}")
            checked += 1
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"document valid; {checked} answers match it")


if __name__ == "__main__":
    main()
