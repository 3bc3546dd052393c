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

GENERATED = REPO / "clients" / "python" / "src" / "llmrouter"


def test_generated_python_is_not_stale(tmp_path: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "generate"), str(tmp_path)], check=True, capture_output=True, cwd=REPO)
    fresh = tmp_path / "clients" / "python" / "src" / "llmrouter"
    names = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*_pb2*"))
    assert names, "the generator produced nothing"
    committed = sorted(p.relative_to(GENERATED).as_posix() for p in GENERATED.rglob("*_pb2*"))
    assert names == committed
    stale = [n for n in names if not filecmp.cmp(fresh / n, GENERATED / n, shallow=False)]
    assert not stale, f"generated code is stale, run `make generate`: {stale}"


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
