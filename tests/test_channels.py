"""bot.serving.channels: the effective credentials file has exactly the connectors whose secrets are set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.knowledge.paths import repo_root
from bot.serving.channels import (
    BASE_CREDENTIALS,
    ChannelConfigError,
    channel_states,
    describe,
    load_specs,
    write_effective_credentials,
)

TELEGRAM = {
    "TELEGRAM_ACCESS_TOKEN": "123456:test-token",
    "TELEGRAM_VERIFY": "oim_test_bot",
    "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram/webhook",
    "TELEGRAM_SECRET_TOKEN": "tg-secret-7781",
}
FACEBOOK = {"FACEBOOK_VERIFY": "fb-verify-4821", "FACEBOOK_SECRET": "fb-secret-9932", "FACEBOOK_PAGE_ACCESS_TOKEN": "fb-page-token-1177"}
TWILIO = {"TWILIO_ACCOUNT_SID": "AC0000test", "TWILIO_AUTH_TOKEN": "twilio-auth-5521", "TWILIO_WHATSAPP_NUMBER": "+15550000000",
          "TWILIO_WEBHOOK_URL": "https://bot.example.org/webhooks/twilio/webhook"}
KEYS = {"telegram": "bot.serving.messaging.telegram.TelegramSecureInput",
        "facebook": "bot.serving.messaging.messenger.MessengerSecureInput",
        "twilio": "bot.serving.messaging.whatsapp.WhatsAppInput"}


def rasa_reads(path: Path, env: dict) -> dict:
    """The credentials as Rasa reads them (its own YAML reader expands ${VARIABLES}), and the
    names of the input channels Rasa builds from them (no network needed for that)."""
    code = (
        "import json, sys; from rasa.shared.utils.io import read_config_file; "
        "from rasa.core.run import create_http_input_channels; "
        "print(json.dumps({'credentials': read_config_file(sys.argv[1]), "
        "'channels': sorted(c.name() for c in create_http_input_channels(None, sys.argv[1]))}))"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, str(path)],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=repo_root(),
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout.strip().splitlines()[-1])


def test_no_secret_means_base_channels_only(tmp_path: Path) -> None:
    out = tmp_path / "credentials.yml"
    states = write_effective_credentials(out=out, env={})
    assert not any(state.enabled for state in states)
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(BASE_CREDENTIALS.read_text())
    assert not ({"telegram", "facebook", "twilio"} | set(KEYS.values())) & set(yaml.safe_load(out.read_text()))


def test_all_three_connectors_on_with_references_not_secrets(tmp_path: Path) -> None:
    out = tmp_path / "credentials.yml"
    env = {**TELEGRAM, **FACEBOOK, **TWILIO}
    write_effective_credentials(out=out, env=env)
    text = out.read_text()
    for secret in env.values():
        assert secret not in text, "secrets must never be written to disk"
    read = rasa_reads(out, env)
    seen = read["credentials"]
    base = set(yaml.safe_load(BASE_CREDENTIALS.read_text()))
    assert set(seen) == base | set(KEYS.values())
    assert read["channels"] == ["facebook", "rest", "socketio", "telegram", "twilio"]  # Rasa builds them
    assert seen[KEYS["telegram"]] == {"access_token": "123456:test-token", "verify": "oim_test_bot",
                                      "webhook_url": TELEGRAM["TELEGRAM_WEBHOOK_URL"],
                                      "secret_token": "tg-secret-7781"}
    assert seen[KEYS["facebook"]]["page-access-token"] == "fb-page-token-1177"
    assert seen[KEYS["twilio"]]["twilio_number"] == "whatsapp:+15550000000"
    assert "api_base_url" not in seen[KEYS["twilio"]]  # optional settings only when their variable is set


def test_optional_settings_follow_their_variables(tmp_path: Path) -> None:
    out = tmp_path / "credentials.yml"
    env = {**TWILIO, "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "OIM_MESSAGING_RETRY_BASE_S": "0.01"}
    write_effective_credentials(out=out, env=env)
    seen = rasa_reads(out, env)["credentials"][KEYS["twilio"]]
    assert seen["api_base_url"] == "http://127.0.0.1:9"
    assert float(seen["retry_base_s"]) == 0.01


def test_whatsapp_prefix_is_not_doubled(tmp_path: Path) -> None:
    out = tmp_path / "credentials.yml"
    env = {**TWILIO, "TWILIO_WHATSAPP_NUMBER": "whatsapp:+15550000000"}
    write_effective_credentials(out=out, env=env)
    assert rasa_reads(out, env)["credentials"][KEYS["twilio"]]["twilio_number"] == "whatsapp:+15550000000"


def test_partial_configuration_stays_off_and_warns(tmp_path: Path) -> None:
    env = {"TELEGRAM_ACCESS_TOKEN": "123:abc", "TELEGRAM_SECRET_TOKEN": "  ", "FACEBOOK_VERIFY": ""}
    states = {s.spec.name: s for s in channel_states(load_specs(), env)}
    assert not states["telegram"].enabled
    assert states["telegram"].missing == ["TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN"]
    assert states["telegram"].partially_configured
    assert not states["facebook"].partially_configured  # empty strings count as unset
    lines = describe(list(states.values()))
    assert any(line.startswith("WARNING Telegram") and "TELEGRAM_WEBHOOK_URL" in line for line in lines)
    out = tmp_path / "credentials.yml"
    write_effective_credentials(out=out, env=env)
    assert KEYS["telegram"] not in yaml.safe_load(out.read_text())


@pytest.mark.parametrize("key", ["telegram", KEYS["telegram"]])
def test_a_channel_already_in_credentials_yml_is_refused(tmp_path: Path, key: str) -> None:
    """Rasa's own Telegram channel there would serve the same unauthenticated webhook path."""
    base = tmp_path / "base.yml"
    base.write_text(f"rest:\n{key}:\n  access_token: x\n", encoding="utf-8")
    with pytest.raises(ChannelConfigError, match=f"already configures '{key}'"):
        write_effective_credentials(out=tmp_path / "out.yml", base=base, env=TELEGRAM)


def test_cli_prints_the_path_and_the_channel_status(tmp_path: Path) -> None:
    out = tmp_path / "effective.yml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FACEBOOK_", "TWILIO_"))}
    result = subprocess.run([sys.executable, "-m", "bot.serving.channels", "--out", str(out)],
                            env={**env, **FACEBOOK}, capture_output=True, text=True, cwd=repo_root(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "Facebook Messenger: on" in result.stderr
    assert "Telegram: off" in result.stderr
    assert KEYS["facebook"] + ":" in out.read_text()


def test_runtime_folder_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".runtime/credentials.yml"], cwd=repo_root())
    assert ignored.returncode == 0
