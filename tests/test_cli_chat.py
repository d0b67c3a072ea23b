"""`python -m bot chat`: the terminal chat with a running assistant (bot/cli/chat.py), in process.

A fake Rasa REST channel (tests/web_app.py) stands in for the server: what is checked is the chat
loop itself (what it sends, what it prints, how it reacts to blank lines, end of input and an
unreachable server), not Rasa's answers.
"""

from __future__ import annotations

import io

import aiohttp
import pytest

from bot.cli import chat
from bot.serving.web.rasa_client import REST_WEBHOOK
from tests.stack import free_port
from tests.web_app import FAKE_ANSWER, FakeRasa


async def test_each_line_is_sent_to_the_rest_channel_and_the_replies_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rasa = await FakeRasa().start()
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("bonjour\n   \n c'est quoi l'OIM ? \n"))
        await chat.chat(rasa.url + REST_WEBHOOK, "terminal-test")
    finally:
        await rasa.close()
    assert rasa.received == [{"sender": "terminal-test", "message": "bonjour"},
                             {"sender": "terminal-test", "message": "c'est quoi l'OIM ?"}]  # blank line skipped
    out = capsys.readouterr().out
    assert out.startswith("Écrivez votre message")
    assert out.count(f"OIM> {FAKE_ANSWER}") == 2


async def test_a_server_error_or_no_server_is_said_and_the_chat_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rasa = await FakeRasa(mode="error").start()
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("bonjour\nencore\n"))
        await chat.chat(rasa.url + REST_WEBHOOK, "terminal-test")
    finally:
        await rasa.close()
    assert len(rasa.received) == 2  # the error did not end the chat
    assert capsys.readouterr().out.count("(serveur injoignable") == 2

    monkeypatch.setattr("sys.stdin", io.StringIO("bonjour\n"))
    await chat.chat(f"http://127.0.0.1:{free_port()}{REST_WEBHOOK}", "terminal-test")
    assert "(serveur injoignable" in capsys.readouterr().out


async def test_send_keeps_only_text_replies() -> None:
    rasa = await FakeRasa().start()
    try:
        async with aiohttp.ClientSession() as session:
            assert await chat.send(session, rasa.url + REST_WEBHOOK, "s", "bonjour") == [FAKE_ANSWER]
    finally:
        await rasa.close()


def test_command_line_defaults_to_the_local_server_and_a_new_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []

    async def fake_chat(url: str, sender: str) -> None:
        seen.append((url, sender))

    monkeypatch.setattr(chat, "chat", fake_chat)
    monkeypatch.setattr("sys.argv", ["python -m bot.cli.chat"])
    assert chat.main() == 0
    assert chat.main(["--url", "http://x:1/webhooks/rest/webhook", "--sender", "moi"]) == 0
    assert seen[0][0] == chat.DEFAULT_URL and seen[0][1].startswith("terminal-")
    assert seen[1] == ("http://x:1/webhooks/rest/webhook", "moi")
