"""Turn a CustomResourceDefinition into the strict JSON schema kubeconform reads, the way kubeconform's own
openapi2jsonschema.py does: objects with properties admit no other keys, int-or-string fields accept both,
and apiVersion/kind are pinned.  Usage: crd_to_jsonschema.py CRD.yaml OUT_DIR"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


def strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: strict(v) for k, v in node.items()}
        if out.pop("x-kubernetes-int-or-string", False):
            out.pop("type", None)
            out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def main(crd_path: Path, out_dir: Path) -> None:
    crd = yaml.safe_load(crd_path.read_text())
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    for version in crd["spec"]["versions"]:
        schema = strict(version["schema"]["openAPIV3Schema"])
        schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        name = f"{kind.lower()}-{group.split('.')[0]}-{version['name']}.json"
        (out_dir / name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(out_dir / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
