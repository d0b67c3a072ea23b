"""Foundation: set-up scripts, model cache, Rasa data, and a French conversation over REST."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bot.knowledge.paths import repo_root
from bot.maintenance.model_cache import model_hash
from tests.stack import RasaServer

UNUSED_UTTERANCE = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")


def _used_by_actions(response: str) -> bool:
    """Templates and labels that the actions fill in are never uttered by a rule or story; nor are
    the REST channel's polite replies. Some are named by family (f"utter_safety_{category}")."""
    files = [*(repo_root() / "actions").glob("*.py"), repo_root() / "bot" / "serving" / "rest_channel.py"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in files)
    families = tuple(re.findall(r'f"(utter_\w+?)\{', source))
    return f'"{response}"' in source or response.startswith(("utter_label_", *families))


def test_setup_fails_clearly_without_python310(tmp_path: Path) -> None:
    """No Python 3.10 anywhere: the setup names what to install instead of failing obscurely."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "OIM_CACHE_DIR": str(tmp_path / "cache"),
    }
    if shutil.which("python3.10", path=env["PATH"]):
        pytest.skip("this machine has a system python3.10 in /usr/bin")
    result = subprocess.run(
        ["bash", str(repo_root() / "scripts" / "setup.sh")], check=False, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Python 3.10 is required" in result.stderr
    assert "pyenv install 3.10" in result.stderr


def test_setup_reuses_the_cached_venv() -> None:
    """A second set-up with the same lock file is a cache hit: no pip install."""
    result = subprocess.run(
        ["bash", str(repo_root() / "scripts" / "setup.sh")], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    venv = Path(result.stdout.strip())
    assert (venv / ".complete").exists()
    assert "creating virtualenv" not in result.stderr
    assert (repo_root() / ".venv").resolve() == venv.resolve()


def test_model_hash_follows_training_inputs_only(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for name in ("config.yml", "domain.yml", "requirements.lock"):
        copy.mkdir(exist_ok=True)
        shutil.copy2(repo_root() / name, copy / name)
    shutil.copytree(repo_root() / "data", copy / "data")
    before = model_hash(copy)
    assert model_hash(copy) == before  # deterministic

    knowledge = copy / "data" / "knowledge" / "extra.yml"
    knowledge.parent.mkdir(parents=True, exist_ok=True)
    knowledge.write_text("version: 1\n", encoding="utf-8")
    assert model_hash(copy) == before  # knowledge is read at run time, not trained

    with open(copy / "data" / "nlu" / "chitchat.yml", "a", encoding="utf-8") as nlu:
        nlu.write("\n")
    assert model_hash(copy) != before


def test_model_key_covers_our_components_in_config() -> None:
    """Every module of ours that config.yml names (components, policies) changes the model key."""
    import yaml

    from bot.maintenance.model_cache import MODEL_INPUTS

    config = yaml.safe_load((repo_root() / "config.yml").read_text(encoding="utf-8"))
    ours = {str(part["name"]).rsplit(".", 1)[0] for key in ("pipeline", "policies") for part in config.get(key) or []
            if str(part["name"]).startswith("bot.")}
    assert ours, "config.yml names components of ours"
    for module in ours:
        assert module.replace(".", "/") + ".py" in MODEL_INPUTS, module


def test_finetuned_and_fully_trained_models_never_share_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.maintenance.candidate_model import finetuned_model_path
    from bot.maintenance.model_cache import cached_model_path

    monkeypatch.setenv("OIM_CACHE_DIR", str(tmp_path / "cache"))
    base_a, base_b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    base_a.write_bytes(b"model a")
    base_b.write_bytes(b"model b")
    full = cached_model_path(repo_root())
    tuned = finetuned_model_path(repo_root(), base_a, 0.5)
    assert tuned != full and tuned.parent == full.parent
    assert tuned.name.startswith(full.name[: -len(".tar.gz")] + "-finetuned-") and tuned.name.count(".") == 2
    assert finetuned_model_path(repo_root(), base_b, 0.5) != tuned  # another base model
    assert finetuned_model_path(repo_root(), base_a, 0.3) != tuned  # other epochs
    assert finetuned_model_path(repo_root(), base_a, 0.5) == tuned  # deterministic: reused


def _processes_naming(text: str) -> list[str]:
    """Command lines of the running processes that contain text."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if text in command:
            found.append(command)
    return found


def test_a_cancelled_background_training_stops_rasa_train_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update rejected while its model trains (BackgroundBuild) leaves no `rasa train` behind."""
    from bot.maintenance.candidate_model import TRAIN_LOCK_ENV, BackgroundBuild
    from bot.maintenance.model_cache import TrainingCancelled

    cache = tmp_path / "cache"
    monkeypatch.setenv("OIM_CACHE_DIR", str(cache))
    monkeypatch.setenv(TRAIN_LOCK_ENV, str(tmp_path / "train.lock"))
    build = BackgroundBuild(repo_root(), None, allow_finetune=False, log=tmp_path / "training.log")
    deadline = time.monotonic() + 60
    while not _processes_naming(str(cache)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert any(" train " in c for c in _processes_naming(str(cache))), "rasa train never started"
    assert not build.done()
    build.cancel()
    assert build.done()
    with pytest.raises(TrainingCancelled):
        build.result()
    assert _processes_naming(str(cache)) == []
    assert list((cache / "models").iterdir()) == []  # neither a model nor the temp folder
    log = (tmp_path / "training.log").read_text(encoding="utf-8", errors="replace")  # not the terminal
    assert "model is trained" not in log  # killed, not waited for


def test_rasa_data_validate_is_clean() -> None:
    """`rasa data validate` through the gate `bot update` runs (bot.maintenance.evaluate.check_rasa_data):
    cached by the model inputs (config, domain, data, Rasa's version), so a warm run with unchanged
    data reads the stored result instead of spending a minute in Rasa; any change runs it again."""
    from bot.maintenance.evaluate import check_rasa_data
    from bot.maintenance.gates import load_gate_config

    result = check_rasa_data(repo_root(), load_gate_config(repo_root()))
    assert result.passed, f"{result.summary}\n" + "\n".join(result.problems)
    warnings = result.details["warnings"]
    # The only warnings we accept: responses the actions use as templates (checked by name).
    unexpected = [
        w for w in warnings
        if not ((m := UNUSED_UTTERANCE.search(w)) and _used_by_actions(m.group(1)))
    ]
    assert unexpected == [], "\n".join(unexpected)


@pytest.mark.parametrize(
    "text", ["bonjour", "Bonjour !", "salut", "bonsoir", "slt", "coucou", "bjr"]
)
def test_model_parses_french_greetings(stack: RasaServer, text: str) -> None:
    import json

    from tests.stack import post_json

    status, body = post_json(f"{stack.url}/model/parse?token={stack.token}", {"text": text})
    assert status == 200, body
    assert json.loads(body)["intent"]["name"] == "greet"


def test_french_conversation_over_rest(stack: RasaServer) -> None:
    sender = "test-foundation"
    greeting = " ".join(stack.texts(sender, "bonjour"))
    assert "Bonjour" in greeting and "OIM" in greeting
    thanks = " ".join(stack.texts(sender, "merci"))
    assert "plaisir" in thanks
    robot = " ".join(stack.texts(sender, "tu es un robot ?"))
    assert "robot" in robot and "pas une personne" in robot


def test_http_api_needs_the_token(stack: RasaServer) -> None:
    import urllib.error
    import urllib.request

    for path in ("/status", "/conversations/x/tracker"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{stack.url}{path}", timeout=10)
        assert error.value.code == 401


def test_docker_compose_file_is_valid() -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is missing: scripts/test.sh installs Debian's docker-compose")
    result = subprocess.run([compose, "config", "-q"], check=False, cwd=repo_root(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
