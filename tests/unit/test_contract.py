"""The generated stubs match the proto, and the domain enums match the protobuf enums."""

from __future__ import annotations

import filecmp
import subprocess
from enum import IntEnum
from pathlib import Path

import pytest
from llmrouter.v1 import router_pb2 as pb

from router_service import domain
from router_service.ledger import RequestStatus
from tests.conftest import REPO

# Every generated tree, with the pattern of its generated files (scripts/generate writes all of them).
GENERATED_TREES = {
    "python": ("clients/python/src/llmrouter", "*_pb2*"),
    "go": ("clients/go/llmrouterv1", "*.pb.go"),
    "typescript": ("clients/typescript/src/gen", "*_pb.ts"),
}


@pytest.fixture(scope="module")
def fresh_generation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/generate run once into a temp dir (Python, then buf generate for Go and TypeScript)."""
    out = tmp_path_factory.mktemp("generated")
    done = subprocess.run(
        [str(REPO / "scripts" / "generate"), str(out)], check=False, capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0, f"scripts/generate failed:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.mark.parametrize("language", list(GENERATED_TREES))
def test_generated_code_is_not_stale(fresh_generation: Path, language: str) -> None:
    folder, pattern = GENERATED_TREES[language]
    fresh, committed = fresh_generation / folder, REPO / folder
    names = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob(pattern))
    assert names, f"the generator produced no {language} code"
    assert names == sorted(p.relative_to(committed).as_posix() for p in committed.rglob(pattern))
    stale = [n for n in names if not filecmp.cmp(fresh / n, committed / n, shallow=False)]
    assert not stale, f"generated {language} code is stale, run `make generate`: {stale}"


@pytest.mark.parametrize(
    ("ours", "theirs", "prefix"),
    [
        (domain.Role, pb.Role, "ROLE_"),
        (domain.Complexity, pb.ComplexityTier, "COMPLEXITY_TIER_"),
        (domain.Domain, pb.Domain, "DOMAIN_"),
        (domain.Intent, pb.Intent, "INTENT_"),
        (domain.Language, pb.Language, "LANGUAGE_"),
        (domain.ModelTier, pb.ModelTier, "MODEL_TIER_"),
        (domain.Capability, pb.Capability, "CAPABILITY_"),
        (domain.FinishReason, pb.FinishReason, "FINISH_REASON_"),
        (domain.ErrorKind, pb.ErrorKind, "ERROR_KIND_"),
        (RequestStatus, pb.RequestStatus, "REQUEST_STATUS_"),
    ],
)
def test_domain_enums_mirror_protobuf(ours: type[IntEnum], theirs: object, prefix: str) -> None:
    aliases = {"UNKNOWN": "UNSPECIFIED", "NONE": "UNSPECIFIED"}
    for member in ours:
        name = prefix + aliases.get(member.name, member.name)
        assert theirs.Value(name) == member.value, name  # type: ignore[attr-defined]
    proto_values = {v for _, v in theirs.items() if v}  # type: ignore[attr-defined]
    assert proto_values <= {m.value for m in ours}, "a protobuf enum value has no domain counterpart"
