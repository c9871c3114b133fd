#!/usr/bin/env python3
"""openapi_check.py SCHEMA DOC SAMPLES — used by test_openapi.c.

Validates DOC (assetd's OpenAPI document) against SCHEMA (the official
OpenAPI 3.1 JSON Schema, from the pinned npm package setup fetches), then
each line of SAMPLES, {"schema": NAME, "what": TEXT, "body": JSON}, a body
the server really answered, against DOC's #/components/schemas/NAME.
Prints each failure; exit status 1 when there is one."""
import json
import sys

import jsonschema


def main():
    schema_path, doc_path, samples_path = sys.argv[1:4]
    with open(schema_path) as f:
        oas = json.load(f)
    with open(doc_path) as f:
        doc = json.load(f)
    bad = 0
    for e in jsonschema.Draft202012Validator(oas).iter_errors(doc):
        print("document: %s at %s" % (e.message, "/".join(map(str, e.absolute_path))))
        bad += 1
    checker = jsonschema.FormatChecker()
    n = 0
    with open(samples_path) as f:
        for line in f:
            s = json.loads(line)
            root = {"$ref": "#/components/schemas/" + s["schema"], "components": doc["components"]}
            v = jsonschema.Draft202012Validator(root, format_checker=checker)
            for e in v.iter_errors(s["body"]):
                print("%s (%s): %s at %s" % (s["what"], s["schema"], e.message, "/".join(map(str, e.absolute_path))))
                bad += 1
            n += 1
    print("openapi_check: document checked, %d answers checked against their schemas, %d problems" % (n, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
