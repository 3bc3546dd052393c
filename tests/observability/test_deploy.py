"""Deployment artefacts: the Kubernetes manifests pass kubeconform (strict, offline) and the Grafana
dashboard only references metrics the router exposes."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from router_service.observability.metrics import RouterMetrics
from tests.conftest import REPO
from tests.observability.conftest import need

KUBECONFORM = REPO / ".tools" / "bin" / "kubeconform"
MANIFESTS = REPO / "deploy" / "kubernetes"
CRD_SCHEMAS = MANIFESTS / "schemas"
GRAFANA = REPO / "deploy" / "grafana" / "llm-router.json"
# Oldest and newest Kubernetes the manifests are meant for (native gRPC probes are GA since 1.27).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def local_schemas(version: str, out: Path) -> Path:
    """kubernetes-validate (PyPI) ships the strict JSON schemas of each Kubernetes release; their `$ref`s
    point at "/api/_definitions.json", which kubeconform cannot resolve, so they are rewritten to absolute
    file URLs in a temp copy. No network: kubeconform only reads these files."""
    kubernetes_validate = need("kubernetes_validate")
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    target = out / f"v{version}-local-strict"
    target.mkdir(parents=True)
    definitions = f"file://{target}/_definitions.json"
    for schema in source.glob("*.json"):
        (target / schema.name).write_text(schema.read_text().replace('"/api/_definitions.json', f'"{definitions}'))
    return out


def kubeconform(paths: list[Path], version: str, schemas: Path) -> subprocess.CompletedProcess[str]:
    if not KUBECONFORM.exists():
        if os.environ.get("CI"):
            pytest.fail("kubeconform is missing: scripts/install --dev installs it")
        pytest.skip("kubeconform is missing (scripts/install --dev)")
    return subprocess.run(
        [
            str(KUBECONFORM),
            "-strict",
            "-summary",
            "-output", "json",
            "-kubernetes-version", version,
            "-ignore-filename-pattern", "kustomization.yaml",
            "-schema-location", f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-local-strict/"
            "{{ .ResourceKind }}{{ .KindSuffix }}.json",
            "-schema-location", f"{CRD_SCHEMAS}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            *map(str, paths),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_pass_kubeconform_strict(version: str, tmp_path: Path) -> None:
    schemas = local_schemas(version, tmp_path)
    result = kubeconform(sorted(MANIFESTS.glob("*.yaml")), version, schemas)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["valid"] == 7 and summary["errors"] == summary["invalid"] == summary["skipped"] == 0, summary


def test_kubeconform_rejects_what_is_wrong(tmp_path: Path) -> None:
    schemas = local_schemas(KUBERNETES_VERSIONS[0], tmp_path / "schemas")
    deployment = yaml.safe_load((MANIFESTS / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"grpc": {"port": 50051}}
    monitor = yaml.safe_load((MANIFESTS / "servicemonitor.yaml").read_text())
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all([deployment, monitor]))
    result = kubeconform([broken], KUBERNETES_VERSIONS[0], schemas)
    assert result.returncode != 0
    summary = json.loads(result.stdout)["summary"]
    assert summary["invalid"] == 2, result.stdout


def test_deployment_follows_the_operational_contract() -> None:
    docs = {
        (d["kind"], d["metadata"]["name"]): d
        for f in MANIFESTS.glob("*.yaml")
        if f.name != "kustomization.yaml"
        for d in yaml.safe_load_all(f.read_text())
    }
    pod = docs[("Deployment", "llm-router")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] == 50051
    assert container["args"] == ["serve"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LLM_ROUTER_CONFIG"]["value"] == "/etc/llm-router/router.yaml"
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True
    config = yaml.safe_load(docs[("ConfigMap", "llm-router-config")]["data"]["router.yaml"])
    assert config["admin"]["listen"] == "0.0.0.0:9464"
    from router_service.config import RouterConfig

    RouterConfig.model_validate(config)  # the shipped config is valid for this version of the router
    endpoint = docs[("ServiceMonitor", "llm-router")]["spec"]["endpoints"][0]
    assert endpoint["port"] == "admin" and endpoint["path"] == "/metrics"


def test_grafana_dashboard_references_only_exposed_metrics() -> None:
    dashboard = json.loads(GRAFANA.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    referenced = {name for expr in exprs for name in re.findall(r"\b(llm_router_[a-z_]+)\b", expr)}
    known = RouterMetrics().names()
    assert referenced and referenced <= known, sorted(referenced - known)
    # Every family of the router appears somewhere on the dashboard.
    families = {n.removesuffix("_total").removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
                for n in referenced}  # fmt: skip
    for family in ("llm_router_requests", "llm_router_cost_nano_usd", "llm_router_time_to_first_token_seconds",
                   "llm_router_circuit_breaker_state", "llm_router_fallbacks", "llm_router_cache_lookups"):  # fmt: skip
        assert family in families, family
