"""A small, offline renderer for the kustomizations under deploy/k8s (no kubectl, no network).

It implements exactly the kustomize features those kustomizations use, with kustomize's
semantics, and refuses any other field so a new feature cannot be silently ignored:

- `resources`: YAML files (several documents each) and directories holding a kustomization.yaml,
  built recursively (a directory's own transformations apply to its resources only);
- `configMapGenerator` with `files` (the key is the file's base name) and
  `generatorOptions.disableNameSuffixHash: true` (no content-hash suffix to reproduce);
- `patches` from a `path` holding a JSON 6902 list of operations (add, remove, replace), applied
  to every resource matching the `target` (kind, name as an anchored regex, labelSelector with
  `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k` requirements);
- `namespace` (set on every namespaced resource), `images` (newName/newTag/digest on containers
  and initContainers of pod templates) and `replicas` (spec.replicas by resource name).

Output order is not kustomize's (it sorts by kind); compare renderings by (kind, namespace, name).
tests/deploy/test_kubernetes.py checks this renderer against `kubectl kustomize` when kubectl is
installed, so a divergence shows up there.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

KNOWN_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches",
                "configMapGenerator", "generatorOptions"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}


class KustomizeError(ValueError):
    pass


def build(directory: str | Path) -> list[dict]:
    directory = Path(directory)
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{directory}: this renderer does not implement {sorted(unknown)}")
    resources: list[dict] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources += build(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    resources += _generate(directory, spec)
    for patch in spec.get("patches", []):
        _patch(directory, resources, patch)
    if spec.get("namespace"):
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for resource in resources:
            _set_image(resource, image)
    for replicas in spec.get("replicas", []):
        matched = [r for r in resources if r["metadata"]["name"] == replicas["name"] and "replicas" in r.get("spec", {})]
        if not matched:
            raise KustomizeError(f"{directory}: replicas names {replicas['name']!r}, which has no spec.replicas")
        for resource in matched:
            resource["spec"]["replicas"] = int(replicas["count"])
    _check_unique(directory, resources)
    return resources


def key(resource: dict) -> tuple[str, str, str]:
    metadata = resource.get("metadata", {})
    return resource["kind"], metadata.get("namespace", ""), metadata["name"]


def _generate(directory: Path, spec: dict) -> list[dict]:
    generators = spec.get("configMapGenerator", [])
    if generators and not (spec.get("generatorOptions") or {}).get("disableNameSuffixHash"):
        raise KustomizeError(f"{directory}: set generatorOptions.disableNameSuffixHash (hash suffixes are not rendered)")
    made = []
    for generator in generators:
        if set(generator) - {"name", "files"}:
            raise KustomizeError(f"{directory}: configMapGenerator supports name and files only")
        data = {}
        for entry in generator["files"]:
            if "=" in entry:
                raise KustomizeError(f"{directory}: `key=path` file entries are not implemented")
            data[Path(entry).name] = (directory / entry).read_text()
        made.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    return made


def _patch(directory: Path, resources: list[dict], patch: dict) -> None:
    if set(patch) - {"path", "target"} or "path" not in patch or "target" not in patch:
        raise KustomizeError(f"{directory}: a patch needs exactly `path` and `target`")
    operations = yaml.safe_load((directory / patch["path"]).read_text())
    if not isinstance(operations, list):
        raise KustomizeError(f"{directory / patch['path']}: only JSON 6902 patches (a list of operations)")
    target = patch["target"]
    if set(target) - {"kind", "name", "labelSelector"}:
        raise KustomizeError(f"{directory}: patch targets support kind, name and labelSelector")
    matched = [r for r in resources if _matches(r, target)]
    if not matched:
        raise KustomizeError(f"{directory}: patch {patch['path']} matches no resource")
    for resource in matched:
        for operation in operations:
            _apply(resource, operation)


def _matches(resource: dict, target: dict) -> bool:
    if "kind" in target and resource["kind"] != target["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], resource["metadata"]["name"]):
        return False
    if "labelSelector" in target:
        return _selects(target["labelSelector"], resource["metadata"].get("labels") or {})
    return True


def _selects(selector: str, labels: dict) -> bool:
    for requirement in re.findall(r"[^,(]+(?:\([^)]*\))?", selector):
        requirement = requirement.strip()
        if match := re.fullmatch(r"(\S+)\s+(in|notin)\s+\(([^)]*)\)", requirement):
            name, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if (labels.get(name) in values) != (operator == "in") or (operator == "in" and name not in labels):
                return False
        elif match := re.fullmatch(r"(\S+?)\s*(!=|==|=)\s*(\S*)", requirement):
            name, operator, value = match.groups()
            if (labels.get(name) == value) != (operator != "!="):
                return False
        elif requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
        elif requirement not in labels:
            return False
    return True


def _apply(resource: dict, operation: dict) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].lstrip("/").split("/")]
    parent = resource
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last, op = parts[-1], operation["op"]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            parent[index] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del parent[index]
        else:
            raise KustomizeError(f"JSON patch op {op!r} is not implemented")
    elif op in ("add", "replace"):
        if op == "replace" and last not in parent:
            raise KustomizeError(f"replace: {operation['path']} does not exist in {key(resource)}")
        parent[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        if last not in parent:
            raise KustomizeError(f"remove: {operation['path']} does not exist in {key(resource)}")
        del parent[last]
    else:
        raise KustomizeError(f"JSON patch op {op!r} is not implemented")


def _pod_spec(resource: dict) -> dict | None:
    spec = resource.get("spec", {})
    if resource["kind"] == "Pod":
        return spec
    if resource["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    return spec.get("template", {}).get("spec")


def _set_image(resource: dict, image: dict) -> None:
    pod = _pod_spec(resource)
    if not pod:
        return
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name, tag, digest = _split(container["image"])
        if name != image["name"]:
            continue
        name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{name}:{image['newTag']}"
        else:
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _split(reference: str) -> tuple[str, str | None, str | None]:
    name, _, digest = reference.partition("@")
    tag = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest or None


def _check_unique(directory: Path, resources: list[dict]) -> None:
    seen = set()
    for resource in resources:
        ident = (resource.get("apiVersion"),) + key(resource)
        if ident in seen:
            raise KustomizeError(f"{directory}: {ident} is defined twice")
        seen.add(ident)
