"""deploy/k8s: the Kubernetes manifests, checked offline (no cluster).

Every YAML file parses; every kustomization's resources and patches exist; the example overlay is
built (`kubectl kustomize` when kubectl is installed, else a small builder here that does what the
overlay uses: resources, namespace, images, replicas); every built object validates against the
Kubernetes 1.28 JSON schema, strict (unknown fields are errors), with `kubernetes-validate`; and the
objects refer to each other correctly (selectors, Secret and ConfigMap keys, Service ports, HPA
target) and start the services as docker-compose.yml does.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.stack import free_ports, http_request, stop_process

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
KUBERNETES_VERSION = "1.28.0"
CLUSTER_SCOPED = {"Namespace"}


def load_all(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def kustomization(directory: Path) -> dict:
    return yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))


def own_build(directory: Path) -> list[dict]:
    """What `kustomize build` gives for the features these kustomizations use (patches excepted)."""
    spec = kustomization(directory)
    objects: list[dict] = []
    for entry in spec.get("resources", []):
        target = directory / entry
        objects += own_build(target) if target.is_dir() else copy.deepcopy(load_all(target))
    for pair in spec.get("labels", []):
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(pair["pairs"])
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for obj in objects:
            for container in pod_spec(obj).get("containers", []) if pod_spec(obj) else []:
                name, _, _tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    for replica in spec.get("replicas", []):
        for obj in objects:
            if obj["metadata"]["name"] == replica["name"] and obj["kind"] in {"Deployment", "StatefulSet"}:
                obj["spec"]["replicas"] = replica["count"]
    return objects


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] in {"Deployment", "StatefulSet"}:
        return obj["spec"]["template"]["spec"]
    return None


def kubectl_build(directory: Path) -> list[dict] | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


_BUILT: dict[Path, list[dict]] = {}


def built(directory: Path) -> list[dict]:
    if directory not in _BUILT:
        _BUILT[directory] = kubectl_build(directory) or own_build(directory)
    return copy.deepcopy(_BUILT[directory])


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def container(objects: list[dict], kind: str, name: str) -> dict:
    (only,) = by_kind(objects, kind)[name]["spec"]["template"]["spec"]["containers"]
    return only


# --- files ----------------------------------------------------------------------------------------


def test_every_yaml_file_parses_and_every_resource_has_kind_and_name():
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        docs = load_all(path)
        assert docs, path
        if path.name == "kustomization.yaml" or path.parent == OVERLAY and path.name != "namespace.yaml":
            continue  # kustomizations and patches
        for doc in docs:
            assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), path


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_kustomization_resources_and_patches_exist(directory: Path):
    spec = kustomization(directory)
    assert spec["kind"] == "Kustomization"
    for entry in spec.get("resources", []):
        target = (directory / entry).resolve()
        assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{directory}: {entry}"
    for patch in spec.get("patches", []):
        assert (directory / patch["path"]).is_file(), patch
    listed = {directory / entry for entry in spec.get("resources", [])}
    if directory == BASE:  # nothing written and forgotten
        assert {p for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml"} == listed


def test_own_builder_agrees_with_kubectl_kustomize():
    from_kubectl = kubectl_build(OVERLAY)
    if from_kubectl is None:
        pytest.skip("kubectl is not installed: the builder of this file stands in for it")
    def names(objects):
        return sorted((o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objects)

    assert names(own_build(OVERLAY)) == names(from_kubectl)


# --- schema ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_every_built_object_validates_against_the_kubernetes_schema(directory: Path):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    objects = built(directory)
    assert len(objects) >= 12
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.path}: {error.message}")


def test_schema_validation_really_rejects_a_broken_manifest():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    deployment = copy.deepcopy(by_kind(built(BASE), "Deployment")["rasa"])
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(by_kind(built(BASE), "Deployment")["rasa"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}  # typo: strict
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


# --- references between objects --------------------------------------------------------------------


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_objects_refer_to_each_other(directory: Path):
    objects = built(directory)
    services, secrets, configmaps = by_kind(objects, "Service"), by_kind(objects, "Secret"), by_kind(objects, "ConfigMap")
    workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}
    assert set(workloads) == {"rasa", "actions", "web", "redis"}
    for name, workload in workloads.items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        service = services[name]  # one Service per workload, same name (the DNS names the config uses)
        assert service["spec"]["selector"].items() <= labels.items(), name
        (main,) = workload["spec"]["template"]["spec"]["containers"]
        port_names = {p["name"] for p in main["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names, name
        for source in main.get("envFrom", []):
            assert source["configMapRef"]["name"] in configmaps
        for variable in main.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]]["stringData"], (name, ref)
        resources = main["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() and {"cpu", "memory"} <= resources["limits"].keys()
    for rule in by_kind(objects, "Ingress")["oim"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
    hpa = by_kind(objects, "HorizontalPodAutoscaler")["rasa"]
    assert hpa["spec"]["scaleTargetRef"]["name"] in by_kind(objects, "Deployment")
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    config = configmaps["oim-config"]["data"]
    assert config["REDIS_HOST"] == "redis" and config["OIM_RASA_URL"] == "http://rasa:5005"
    assert config["ACTION_ENDPOINT_URL"] == "http://actions:5055/webhook"


def test_secrets_hold_placeholders_only():
    for obj in built(OVERLAY):
        if obj["kind"] == "Secret":
            assert set(obj["stringData"].values()) == {"REPLACE-ME"}, obj["metadata"]["name"]


def test_ingress_exposes_the_channels_not_the_rasa_api():
    ingress = by_kind(built(OVERLAY), "Ingress")["oim"]
    routes = {p["path"]: p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert routes == {"/webhooks/": "rasa", "/socket.io/": "rasa", "/": "web"}
    if shutil.which("kubectl") is None:
        return  # the overlay's patches (host, TLS) are applied by kubectl kustomize only
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


# --- same services as docker-compose.yml ------------------------------------------------------------


def test_containers_start_as_in_docker_compose():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    objects = built(BASE)
    assert container(objects, "Deployment", "actions")["command"] == compose["actions"]["command"]
    assert container(objects, "Deployment", "web")["command"] == compose["web"]["command"]
    rasa_command = container(objects, "Deployment", "rasa")["command"][-1]
    compose_rasa = compose["rasa"]["command"][-1].replace("$$", "$")
    start = compose_rasa[compose_rasa.index("credentials="):]
    assert start in rasa_command
    assert '""|REPLACE-ME' in rasa_command  # never the API without a real token
    # Every environment variable compose gives the app containers is set (ConfigMap or Secret).
    config = by_kind(objects, "ConfigMap")["oim-config"]["data"]
    secret = by_kind(objects, "Secret")["oim-secrets"]["stringData"]
    for service in ("actions", "web"):
        assert set(compose[service]["environment"]) <= set(config) | set(secret), service


HANDOFF_SETTINGS = ("OIM_HANDOFF_QUEUE", "OIM_STAFF_HOURS_FILE", "OIM_STAFF_TIMEZONE")
IMAGE_ROOT = "/app/"  # the Dockerfile's WORKDIR, where `COPY . .` puts the repo


def container_env(objects: list[dict], main: dict) -> dict[str, str]:
    """The variables a container gets from its ConfigMaps (envFrom, then configMapKeyRef) and literals."""
    configmaps = by_kind(objects, "ConfigMap")
    env: dict[str, str] = {}
    for source in main.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for variable in main.get("env", []):
        key_ref = variable.get("valueFrom", {}).get("configMapKeyRef")
        if key_ref:
            env[variable["name"]] = configmaps[key_ref["name"]]["data"][key_ref["key"]]
        elif "value" in variable:
            env[variable["name"]] = variable["value"]
    return env


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_handoff_settings_reach_the_action_server_from_a_configmap(directory: Path):
    """OIM_HANDOFF_QUEUE and OIM_STAFF_HOURS_FILE are the action server's (it answers "parler à un
    humain"): set from the ConfigMap, queue off by default as in bot/knowledge/staff_hours.yml, and
    the file they name is the image's copy of that file, which the real loader reads."""
    from bot.knowledge.handoff_hours import DEFAULT_FILE, staff_hours

    objects = built(directory)
    env = container_env(objects, container(objects, "Deployment", "actions"))
    assert set(HANDOFF_SETTINGS) <= set(env)
    assert all(isinstance(env[name], str) for name in HANDOFF_SETTINGS)  # a bare `off` would be a YAML boolean
    assert env["OIM_HANDOFF_QUEUE"] == "off"
    hours_file = env["OIM_STAFF_HOURS_FILE"]
    assert hours_file.startswith(IMAGE_ROOT)
    assert (ROOT / hours_file.removeprefix(IMAGE_ROOT)).resolve() == DEFAULT_FILE.resolve()
    local = {**{name: env[name] for name in HANDOFF_SETTINGS}, "OIM_STAFF_HOURS_FILE": str(DEFAULT_FILE)}
    settings = staff_hours(local)
    assert settings.queue is False and settings.timezone == "Europe/Paris" and settings.hours[0]
    assert staff_hours({**local, "OIM_HANDOFF_QUEUE": "on"}).queue is True  # what an operator sets
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert not any(hours_file.removeprefix(IMAGE_ROOT).startswith(entry.strip("/")) for entry in ignored)


def test_probes_and_memory():
    objects = built(BASE)
    rasa = container(objects, "Deployment", "rasa")
    assert rasa["livenessProbe"]["httpGet"]["path"] == "/"
    readiness = " ".join(rasa["readinessProbe"]["exec"]["command"])
    assert '--data-urlencode "token=$OIM_RASA_TOKEN"' in readiness and "curl -fsS" in readiness
    assert rasa["startupProbe"]["periodSeconds"] * rasa["startupProbe"]["failureThreshold"] >= 120
    actions = container(objects, "Deployment", "actions")
    assert actions["readinessProbe"]["httpGet"]["path"] == "/health"
    assert actions["livenessProbe"]["httpGet"]["path"] == "/health"
    # Memory from benchmarks/RESULTS.md: Rasa ~1100 MB, actions ~573 MB resident after load.
    mib = {"Mi": 1, "Gi": 1024}

    def to_mib(value: str) -> int:
        return int(value[:-2]) * mib[value[-2:]]

    assert to_mib(rasa["resources"]["requests"]["memory"]) >= 1100
    assert to_mib(actions["resources"]["requests"]["memory"]) >= 573
    for main in (rasa, actions):
        assert to_mib(main["resources"]["limits"]["memory"]) > to_mib(main["resources"]["requests"]["memory"])


def test_redis_keeps_its_data_on_a_volume_with_aof():
    objects = built(BASE)
    redis = by_kind(objects, "StatefulSet")["redis"]
    main = container(objects, "StatefulSet", "redis")
    args = main["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--dir") + 1] == "/data"
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    assert {m["name"]: m["mountPath"] for m in main["volumeMounts"]} == {claim["metadata"]["name"]: "/data"}
    assert by_kind(objects, "Service")["redis"]["spec"]["clusterIP"] == "None"


def test_disruption_budget_and_redis_network_policy_select_the_right_pods():
    objects = built(BASE)
    pods = {name: w["spec"]["template"]["metadata"]["labels"]
            for name, w in {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}.items()}
    budget = by_kind(objects, "PodDisruptionBudget")["rasa"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pods["rasa"].items()
    assert budget["spec"]["minAvailable"] < by_kind(objects, "HorizontalPodAutoscaler")["rasa"]["spec"]["minReplicas"]
    policy = by_kind(objects, "NetworkPolicy")["redis-clients"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pods["redis"].items()
    (rule,) = policy["spec"]["ingress"]
    (expression,) = rule["from"][0]["podSelector"]["matchExpressions"]
    allowed = {name for name, labels in pods.items() if labels.get(expression["key"]) in expression["values"]}
    assert allowed == {"rasa", "actions", "web"}


RASA_STAND_IN = r"""
import sys
from aiohttp import web

token, port, agent = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "loaded"

async def status(request):  # as rasa/server.py: requires_auth (?token=), then ensure_loaded_agent
    if request.query.get("token") != token:
        return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
    if not agent:
        return web.json_response({"status": "failure", "reason": "Conflict"}, status=409)
    return web.json_response({"model_file": "model.tar.gz"})

app = web.Application()
app.router.add_get("/status", status)
web.run_app(app, host="127.0.0.1", port=port, print=None)
"""


@pytest.mark.parametrize(("agent", "probe_token", "ready"), [
    ("loaded", "s3cr&t #tok+en=1", True),
    ("none", "s3cr&t #tok+en=1", False),
    ("loaded", "another-token", False),
])
def test_rasa_readiness_command_really_checks_token_and_model(tmp_path, agent, probe_token, ready):
    """The probe's exact shell command, run against a stand-in answering as Rasa's /status does."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed here (the image installs it)")
    port = free_ports(1)[0]
    script = tmp_path / "rasa_status.py"
    script.write_text(RASA_STAND_IN)
    server = subprocess.Popen([sys.executable, str(script), "s3cr&t #tok+en=1", str(port), agent],
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                http_request(f"http://127.0.0.1:{port}/status", timeout_s=1)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        probe = container(built(BASE), "Deployment", "rasa")["readinessProbe"]["exec"]["command"]
        command = [part.replace("127.0.0.1:5005", f"127.0.0.1:{port}") for part in probe]
        result = subprocess.run(command, env={"PATH": "/usr/bin:/bin", "OIM_RASA_TOKEN": probe_token},
                                capture_output=True, text=True, timeout=30)
        assert (result.returncode == 0) is ready, result.stderr
    finally:
        stop_process(server)
