"""deploy/k8s: every overlay, rendered offline by tests/deploy/kustomize.py (and compared with
`kubectl kustomize` when kubectl is installed), is valid against the Kubernetes schemas in strict
mode (kubernetes-validate, no network) and has the shape the deployment promises."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.deploy import kustomize
from tests.deploy.helpers import DEPLOY, SERVICES, env_example, secrets_module

K8S = DEPLOY / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if (path / "kustomization.yaml").exists())
KUBERNETES_VERSION = "1.30.0"  # the oldest release the manifests target (HPA v2, PDB v1, batch/v1 Job TTL)
PORTS = {"users": 8001, "jobs": 8002, "contracts": 8003, "payments": 8004, "reviews": 8005, "messages": 8006}


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> dict:
    return {kustomize.key(resource): resource for resource in kustomize.build(K8S / "overlays" / request.param)}


def by_kind(rendered: dict, kind: str) -> dict[str, dict]:
    return {name: resource for (k, _, name), resource in rendered.items() if k == kind}


def containers(resource: dict) -> list[dict]:
    spec = resource["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_there_are_a_dev_and_a_production_overlay():
    assert {"dev", "production"} <= set(OVERLAYS)


def test_rendered_manifests_are_valid_kubernetes_in_strict_mode(rendered):
    import kubernetes_validate

    errors = []
    for ident, resource in rendered.items():
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{ident}: {error.message} at {list(error.path)}")
    assert not errors, "\n".join(errors)


def test_strict_validation_catches_an_unknown_field():
    import kubernetes_validate

    deployment = next(r for r in kustomize.build(K8S / "base") if r["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["healthProbe"] = {"path": "/health"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_offline_renderer_agrees_with_kubectl_kustomize(overlay):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed; the offline rendering is used alone")
    result = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    theirs = {kustomize.key(r): r for r in yaml.safe_load_all(result.stdout) if r}
    ours = {kustomize.key(r): r for r in kustomize.build(K8S / "overlays" / overlay)}
    assert set(ours) == set(theirs)
    for ident, resource in ours.items():
        assert resource == theirs[ident], ident


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(kustomize.KustomizeError, match="namePrefix"):
        kustomize.build(tmp_path)


def test_each_service_has_an_api_and_a_worker_with_probes_and_autoscaling(rendered):
    deployments, services = by_kind(rendered, "Deployment"), by_kind(rendered, "Service")
    hpas, pdbs = by_kind(rendered, "HorizontalPodAutoscaler"), by_kind(rendered, "PodDisruptionBudget")
    for name in SERVICES:
        api, worker = deployments[f"{name}-api"], deployments[f"{name}-worker"]
        container = api["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:2] == ["api", name]
        assert container["ports"][0]["containerPort"] == PORTS[name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert services[f"{name}-api"]["spec"]["ports"][0]["port"] == PORTS[name]
        assert f"{name}-api" in pdbs
        assert f"{name}-api" not in hpas

        container = worker["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["worker", name]
        assert {"name": "METRICS_PORT", "value": "9100"} in container["env"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
        for probe in ("startupProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "metrics"}
        assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
        target = hpas[f"{name}-worker"]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", f"{name}-worker")
        assert f"{name}-worker" in pdbs
    assert "gateway" not in deployments and "gateway" not in services, "the Ingress is the gateway"


def test_the_ingresses_route_exactly_the_registry_s_routes_to_each_api_s_service(rendered):
    from marketplace import registry

    ingresses = by_kind(rendered, "Ingress")
    assert set(ingresses) == {"marketplace", "marketplace-uploads"}
    services = by_kind(rendered, "Service")
    routed: dict[str, str] = {}
    for ingress in ingresses.values():
        assert ingress["apiVersion"] == "networking.k8s.io/v1" and ingress["spec"]["ingressClassName"]
        [rule] = ingress["spec"]["rules"]
        for path in rule["http"]["paths"]:
            assert path["pathType"] == "Prefix", "Prefix matches whole segments: /jobs and /jobs/…, not /jobsx"
            backend = path["backend"]["service"]
            assert backend["port"] == {"name": "http"}
            assert {"name": "http", "port": registry.BY_NAME[backend["name"].removesuffix("-api")].port,
                    "targetPort": "http", "protocol": "TCP"} in services[backend["name"]]["spec"]["ports"]
            assert path["path"] not in routed, f"{path['path']} is routed twice"
            routed[path["path"]] = backend["name"]
    assert routed == {f"/{segment}": f"{service}-api" for segment, service in registry.ROUTES.items()}


def test_only_the_segments_of_upload_paths_take_upload_sized_bodies(rendered):
    """10 MiB attachments pass the proxy; every other path keeps the 1 MiB limit of the APIs themselves."""
    from marketplace import registry

    uploads = {"/" + re.match(r"\^/([^/]+)/", path).group(1) for entry in registry.ENTRIES for path in entry.uploads}
    assert uploads == {"/rooms"}
    ingresses = by_kind(rendered, "Ingress")
    limits = {name: ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
              for name, ingress in ingresses.items()}
    assert limits == {"marketplace": "1m", "marketplace-uploads": registry.UPLOAD_LIMIT}
    paths = {name: {path["path"] for path in ingress["spec"]["rules"][0]["http"]["paths"]}
             for name, ingress in ingresses.items()}
    assert paths["marketplace-uploads"] == uploads
    main, upload = (ingresses[name]["metadata"]["annotations"] for name in ("marketplace", "marketplace-uploads"))
    assert {k: v for k, v in main.items() if "body-size" not in k} == \
        {k: v for k, v in upload.items() if "body-size" not in k}, "the two differ in their body limit only"


def test_production_serves_its_host_over_tls():
    ingresses = [r for r in kustomize.build(K8S / "overlays" / "production") if r["kind"] == "Ingress"]
    assert len(ingresses) == 2
    for ingress in ingresses:
        host = ingress["spec"]["rules"][0]["host"]
        assert host == "marketplace.example.com"
        assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "marketplace-tls"}]


def test_selectors_match_their_pods(rendered):
    pods = {name: r["spec"]["template"]["metadata"]["labels"]
            for kind in ("Deployment", "StatefulSet") for name, r in by_kind(rendered, kind).items()}
    for kind in ("Service", "PodDisruptionBudget"):
        for name, resource in by_kind(rendered, kind).items():
            selector = resource["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert any(selector.items() <= labels.items() for labels in pods.values()), f"{kind} {name} selects no pod"
    for name, resource in by_kind(rendered, "Deployment").items():
        assert resource["spec"]["selector"]["matchLabels"].items() <= pods[name].items()


def test_every_container_has_resources_and_runs_locked_down(rendered):
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, resource in by_kind(rendered, kind).items():
            pod = resource["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            for container in containers(resource):
                assert {"cpu", "memory"} <= set(container["resources"]["requests"]), (name, container["name"])
                assert {"cpu", "memory"} <= set(container["resources"]["limits"]), (name, container["name"])
                assert container["securityContext"]["allowPrivilegeEscalation"] is False
                assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
                assert not container["image"].endswith(":latest") and ":" in container["image"], container["image"]


def test_the_migration_job_migrates_then_declares_the_topology(rendered):
    job = by_kind(rendered, "Job")["marketplace-migrate"]
    pod = job["spec"]["template"]["spec"]
    assert [c["args"] for c in pod["initContainers"]] == [["migrate"]]
    assert [c["args"] for c in pod["containers"]] == [["topology"]]
    migrate_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in pod["initContainers"][0]["env"]}
    for name in SERVICES:
        assert migrate_env[f"DATABASE_URL_{name.upper()}"] == {"name": f"marketplace-{name}", "key": "DATABASE_URL"}
    topology_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in pod["containers"][0]["env"]}
    assert topology_env == {"AMQP_URL": {"name": "marketplace-operator", "key": "AMQP_URL"}}


def test_each_service_reads_only_its_own_secret(rendered):
    for (kind, _, name), resource in rendered.items():
        if kind != "Deployment":
            continue
        service = name.rsplit("-", 1)[0]
        for container in containers(resource):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in (f"marketplace-{service}", "marketplace-jwt"), (name, ref)
                    if ref["key"] == "JWT_PRIVATE_KEY":
                        assert name == "users-api", "only users signs tokens"


def test_consumers_expect_each_producer_as_the_broker_user_of_its_name(rendered):
    """The ConfigMap every service reads keeps the default mapping (each producer publishes as the user of its
    own name, its secret's AMQP_URL) and lets the operator's replays keep their publisher."""
    from shared.config import Settings

    config = by_kind(rendered, "ConfigMap")["marketplace-config"]["data"]
    settings = Settings.from_env(config)
    assert "AMQP_PUBLISHERS" not in config
    assert all(settings.publishers.of(name) == name for name in SERVICES)
    assert settings.replayers == {"operator"}


def test_referenced_secrets_and_config_exist(rendered):
    """Every Secret key a manifest needs is made by secrets-from-env.py (from the compose .env
    file), and every ConfigMap key it reads is in the rendered ConfigMaps."""
    made = secrets_module().secrets(env_example())
    assert all(item["kind"] == "Secret" for item in made["items"])
    keys = {item["metadata"]["name"]: set(item["stringData"]) for item in made["items"]}
    configs = {name: set(r["data"]) for name, r in by_kind(rendered, "ConfigMap").items()}
    for (kind, _, name), resource in rendered.items():
        if kind not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = resource["spec"]["template"]["spec"]
        for container in containers(resource):
            for env in container.get("env", []):
                source = env.get("valueFrom", {})
                if "secretKeyRef" in source and not source["secretKeyRef"].get("optional"):
                    ref = source["secretKeyRef"]
                    assert ref["key"] in keys.get(ref["name"], set()), (name, ref)
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    assert ref["key"] in configs.get(ref["name"], set()), (name, ref)
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in keys
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configs
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configs, (name, volume)


def test_the_secrets_carry_the_credentials_the_infra_sets_up():
    from urllib.parse import urlsplit

    from tests.deploy.helpers import definitions

    made = {item["metadata"]["name"]: item["stringData"] for item in secrets_module().secrets(env_example())["items"]}
    users = {user["name"] for user in definitions()["users"]}
    init = (DEPLOY / "postgres" / "init-databases.sh").read_text()
    assert 'prefix="${MARKETPLACE_DB_PREFIX:-marketplace_}"' in init
    for name in SERVICES:
        broker = urlsplit(made[f"marketplace-{name}"]["AMQP_URL"])
        assert broker.username == name and name in users and broker.path == "/marketplace"
        assert broker.password == made["marketplace-rabbitmq"][f"RABBITMQ_{name.upper()}_PASSWORD"]
        database = urlsplit(made[f"marketplace-{name}"]["DATABASE_URL"])
        assert database.username == database.path.lstrip("/") == f"marketplace_{name}"
        assert database.password == made["marketplace-postgres"][f"POSTGRES_{name.upper()}_PASSWORD"]
    assert urlsplit(made["marketplace-operator"]["AMQP_URL"]).username == "operator"
    assert "JWT_PRIVATE_KEY" not in str({k: v for k, v in made.items() if k != "marketplace-jwt"})


def test_the_secrets_are_valid_kubernetes():
    import kubernetes_validate

    for item in secrets_module().secrets(env_example(), "marketplace")["items"]:
        kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)


def test_the_infra_copies_match_the_compose_files():
    files = K8S / "infra" / "files"
    for original in (DEPLOY / "rabbitmq" / "definitions.json", DEPLOY / "rabbitmq" / "render-definitions.py",
                     DEPLOY / "rabbitmq" / "rabbitmq.conf", DEPLOY / "postgres" / "init-databases.sh"):
        assert (files / original.name).read_text() == original.read_text(), (
            f"deploy/k8s/infra/files/{original.name} differs from {original.relative_to(DEPLOY.parent)}: copy it over")


def test_the_dev_overlay_runs_the_broker_and_databases_in_cluster_and_production_does_not():
    dev = {kustomize.key(r) for r in kustomize.build(K8S / "overlays" / "dev")}
    production = {kustomize.key(r) for r in kustomize.build(K8S / "overlays" / "production")}
    assert ("StatefulSet", "marketplace-dev", "rabbitmq") in dev
    assert ("StatefulSet", "marketplace-dev", "postgres") in dev
    assert not any(kind == "StatefulSet" for kind, _, _ in production)
