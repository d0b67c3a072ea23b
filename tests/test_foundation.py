"""Foundation: set-up scripts, model cache, Rasa data, and a French conversation over REST."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge.paths import repo_root
from bot.maintenance.model_cache import model_hash
from tests.stack import RasaServer

RASA = Path(sys.executable).with_name("rasa")

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


def test_rasa_data_validate_is_clean() -> None:
    result = subprocess.run(
        [str(RASA), "data", "validate", "--config", "config.yml", "--domain", "domain.yml",
         "--data", "data/nlu", "data/rules", "data/stories"],
        check=False, cwd=repo_root(), capture_output=True, text=True, timeout=300,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = [
        line for line in output.splitlines()
        if "UserWarning" in line or " WARNING " in line
    ]
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
