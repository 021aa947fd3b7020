#!/usr/bin/env python3
"""Write linkcheck/schema.json, the JSON Schema of `linkcheck --json`, with its enums taken from the model.

The committed file is what users read; tests/test_schema.py fails when it and this script disagree, so a
new enum member in model.py cannot silently make valid output invalid.
Usage: python scripts/make_schema.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linkcheck.model import (  # noqa: E402
    SCHEMA_VERSION,
    Confidence,
    ElfType,
    ExecError,
    FileFormat,
    Language,
    Libc,
    Linkage,
    NeedKind,
    NeedReader,
    Outcome,
    SearchSource,
)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "linkcheck" / "schema.json"


def values(enum: Any, *extra: Any) -> list[Any]:
    return [member.value for member in enum] + list(extra)


def obj(properties: dict[str, Any], nullable: bool = False) -> dict[str, Any]:
    return {"type": ["object", "null"] if nullable else "object", "additionalProperties": False,
            "required": list(properties), "properties": properties}


def schema() -> dict[str, Any]:
    text = {"type": "string"}
    maybe_text = {"type": ["string", "null"]}
    texts = {"type": "array", "items": text}
    source = {"enum": values(SearchSource)}
    step = obj({"directory": text, "source": source, "result": text, "reason": text})
    problem = obj({"kind": {"enum": [o.value for o in Outcome if o is not Outcome.RUNS]},
                   "subject": text, "needed_by": text, "detail": text, "symbols": texts,
                   "provider": maybe_text, "provider_highest": maybe_text,
                   "search": {"type": "array", "items": step}})
    loaded = obj({"name": text, "path": maybe_text, "source": source, "needed_by": text})
    finding = obj({"kind": {"enum": values(NeedKind)}, "reader": {"enum": values(NeedReader)},
                   "confidence": {"enum": values(Confidence)}, "subject": maybe_text, "evidence": texts,
                   "lacks": texts, "when": text, "message": text, "fixes": texts})
    verdict = obj({"target": text, "runs": {"type": "boolean"}, "outcome": {"enum": values(Outcome)},
                   "message": text, "shell_message": text, "explanation": text, "fixes": texts,
                   "problems": {"type": "array", "items": problem},
                   "loaded": {"type": "array", "items": loaded}, "notes": texts,
                   "findings": {"type": "array", "items": finding}})
    gate = obj({"gate": text, "passed": {"type": "boolean"}, "detail": text})
    go = obj({"go_version": text, "main_module": maybe_text, "cgo_enabled": {"type": ["boolean", "null"]},
              "tags": texts, "settings": {"type": "object", "additionalProperties": text}}, nullable=True)
    script = obj({"interpreter": text, "argument": maybe_text, "program": maybe_text,
                  "crlf": {"type": "boolean"}, "truncated": {"type": "boolean"}, "line": text}, nullable=True)
    java = obj({"class_major": {"type": "integer"}, "java_release": {"type": "integer"},
                "classes_read": {"type": "integer"}, "main_class": maybe_text,
                "main_class_major": {"type": ["integer", "null"]},
                "versions": {"type": "array", "items": obj({
                    "major": {"type": "integer"}, "count": {"type": "integer"},
                    "examples": {"type": "array", "items": {"type": "string"}}})},
                "multi_release": {"type": "boolean"}}, nullable=True)
    refusal = obj({"errno": {"enum": values(ExecError)}, "message": text, "reason": text, "rule": text},
                  nullable=True)
    file_entry = obj({
        "path": text,
        "format": {"enum": values(FileFormat)},
        "description": text,
        "size": {"type": "integer", "minimum": 0},
        "machine": maybe_text,
        "docker_arch": maybe_text,
        "elf_class": {"enum": [32, 64, None]},
        "endianness": {"enum": ["little", "big", None]},
        "elf_type": {"enum": values(ElfType, None)},
        "pie": {"type": ["boolean", "null"]},
        "linkage": {"enum": values(Linkage)},
        "libc": {"enum": values(Libc, None)},
        "linkage_evidence": maybe_text,
        "interpreter": maybe_text,
        "needed": texts,
        "soname": maybe_text,
        "rpath": texts,
        "runpath": texts,
        "version_needs": {"type": "object", "additionalProperties": texts},
        "versioned_symbols": {"type": "object", "additionalProperties": texts},
        "min_glibc": {"type": ["string", "null"], "pattern": "^[0-9]+(\\.[0-9]+)+$"},
        "toolchain": obj({"language": {"enum": values(Language)}, "evidence": texts, "go": go},
                         nullable=True),
        "warnings": texts,
        "script": script,
        "java": java,
        "kernel_refusal": refusal,
        "verdicts": {"type": "array", "items": verdict},
        "gates": {"type": "array", "items": gate},
        "smallest_target": maybe_text,
        "matrix_platform": maybe_text,
    })
    error = obj({"path": text, "error": text})
    document = obj({"schema": {"const": SCHEMA_VERSION}, "linkcheck_version": text,
                    "files": {"type": "array", "items": file_entry},
                    "errors": {"type": "array", "items": error}})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "linkcheck/schema.json",
            "title": "linkcheck --json output",
            "description": "One document per run; 'schema' changes only when a field changes meaning or "
                           "disappears.", **document}


def render() -> str:
    return json.dumps(schema(), indent=1) + "\n"


def main() -> None:
    if "--check" in sys.argv[1:]:
        if SCHEMA_PATH.read_text() != render():
            sys.exit(f"{SCHEMA_PATH} is out of date: run python scripts/make_schema.py")
        return
    SCHEMA_PATH.write_text(render())


if __name__ == "__main__":
    main()
