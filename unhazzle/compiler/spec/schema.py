"""The JSON Schema of unhazzle.yaml, generated from the model for editors (yaml-language-server).

Regenerate with `python -m unhazzle.compiler.spec.schema --write`; a test fails when the committed
unhazzle/schemas/unhazzle.schema.json is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from unhazzle.compiler.spec.model import Spec

SCHEMA_ID = "https://unhazzle.dev/schemas/unhazzle.schema.json"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "unhazzle.schema.json"


def spec_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if "--write" in argv:
        SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
        print(f"wrote {SCHEMA_FILE}")
    else:
        sys.stdout.write(schema_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
