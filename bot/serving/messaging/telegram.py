"""Telegram: Rasa's `TelegramInput`, webhooks carrying the secret token only, shaped replies with
inline keyboards, async sending (no aiogram round trip per update).

credentials (bot/serving/channels.yml writes them from TELEGRAM_* variables):
    bot.serving.messaging.telegram.TelegramSecureInput:
      access_token: 123456:ABC...     # from @BotFather
      verify: my_bot                  # the bot's username (informative)
      webhook_url: https://<public host>/webhooks/telegram/webhook
      secret_token: <1-256 of A-Z a-z 0-9 _ ->   # given at setWebhook, checked on every update
      api_base_url: https://api.telegram.org      # optional (tests: the simulator)

At server start the connector calls `setWebhook` with the URL and the secret token (again on
POST /webhooks/telegram/set_webhook).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.telegram import TelegramInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.serving.messaging.base import Incoming, MessagingConnector, MessagingOutput, OnNewMessage
from bot.serving.messaging.signatures import TELEGRAM_SECRET, telegram_secret_valid
from bot.serving.messaging.texts import Choice

logger = logging.getLogger(__name__)

DEFAULT_API = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MEDIA_FIELDS = ("voice", "audio", "photo", "video", "video_note", "document", "sticker", "animation",
                "location", "venue", "contact", "poll", "dice")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def parse_telegram_update(update: Any, start_text: str = "bonjour") -> tuple[Incoming | None, str | None]:
    """(event, callback query id to acknowledge) of an update; (None, None) for updates not meant
    for the assistant (channel posts, member changes...)."""
    if not isinstance(update, dict):
        return None, None
    metadata = {"platform": "telegram"}
    query = update.get("callback_query")
    if isinstance(query, dict):
        chat = ((query.get("message") or {}).get("chat") or {}).get("id") or (query.get("from") or {}).get("id")
        if chat is None:
            return None, None
        return Incoming("choice", str(chat), str(query.get("data") or ""), metadata), str(query.get("id") or "")
    edited = update.get("edited_message")
    if isinstance(edited, dict) and (edited.get("chat") or {}).get("id") is not None:
        return Incoming("edited", str(edited["chat"]["id"]), metadata=metadata), None
    message = update.get("message")
    if not isinstance(message, dict) or (message.get("chat") or {}).get("id") is None:
        return None, None
    address = str(message["chat"]["id"])
    text = message.get("text")
    if isinstance(text, str):
        if text.split("@")[0].strip() == "/start" or text.startswith("/start "):
            text = start_text
        return Incoming("text", address, text, metadata), None
    if any(key in message for key in MEDIA_FIELDS):
        return Incoming("media", address, metadata=metadata), None
    return None, None


def inline_keyboard(menu: Sequence[Choice]) -> dict[str, Any]:
    """One button per row; callback_data is the choice's number (Telegram allows 64 bytes)."""
    return {"inline_keyboard": [[{"text": choice.title, "callback_data": str(i)}]
                                for i, choice in enumerate(menu, 1)]}


class TelegramSecureInput(TelegramInput, MessagingConnector):
    """Served at /webhooks/telegram/webhook like Rasa's Telegram channel."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None
        for key in ("access_token", "webhook_url", "secret_token"):
            if not str(credentials.get(key) or "").strip():
                raise ValueError(f"Telegram: credential '{key}' is missing")
        return cls(
            str(credentials["access_token"]), str(credentials.get("verify") or ""), str(credentials["webhook_url"]),
            secret_token=str(credentials["secret_token"]),
            api_base_url=str(credentials.get("api_base_url") or DEFAULT_API),
            retry_base_s=credentials.get("retry_base_s"), max_chars=credentials.get("max_chars"),
        )

    def __init__(self, access_token: str, verify: str, webhook_url: str, secret_token: str,
                 api_base_url: str = DEFAULT_API, retry_base_s: Any = None, max_chars: Any = None) -> None:
        super().__init__(access_token, verify, webhook_url, debug_mode=False)
        if not TELEGRAM_SECRET.match(secret_token):
            raise ValueError("Telegram: secret_token must be 1-256 characters among A-Z a-z 0-9 _ -")
        self.secret_token = secret_token
        self.api_base_url = api_base_url.rstrip("/")
        self._setup_messaging("telegram", retry_base_s, max_chars)

    def method_url(self, method: str) -> str:
        return f"{self.api_base_url}/bot{self.access_token}/{method}"

    async def send_chunk(self, address: str, conversation: str, text: str, menu: Sequence[Choice]) -> bool:
        payload: dict[str, Any] = {"chat_id": int(address) if address.lstrip("-").isdigit() else address,
                                   "text": text}
        if menu:
            payload["reply_markup"] = inline_keyboard(menu)
        return await self.sender.post(self.method_url("sendMessage"), conversation, json=payload) is not None

    async def register_webhook(self) -> bool:
        """setWebhook with the public URL and the secret token Telegram will send back."""
        payload = {"url": self.webhook_url, "secret_token": self.secret_token, "allowed_updates": ALLOWED_UPDATES}
        answer = await self.sender.post(self.method_url("setWebhook"), "setWebhook", json=payload)
        ok = bool(answer and answer.get("ok"))
        if ok:
            logger.info("telegram: webhook registered with its secret token")
        else:
            logger.error("telegram: setWebhook failed: updates will not arrive (%s)", answer)
        return ok

    async def acknowledge(self, query_id: str) -> None:
        await self.sender.post(self.method_url("answerCallbackQuery"), "answerCallbackQuery",
                               json={"callback_query_id": query_id})

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(self.sender.stats.report())  # "failing" after a send failed for good

        @webhook.route("/set_webhook", methods=["POST"])
        async def set_webhook(_: Request) -> HTTPResponse:
            ok = await self.register_webhook()
            return response.json({"ok": ok}, status=200 if ok else 502)

        @webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            if not telegram_secret_valid(self.secret_token, request.headers.get(SECRET_HEADER)):
                logger.warning("telegram: update refused, bad or missing %s", SECRET_HEADER)
                return response.text("forbidden", status=403)
            try:
                update = request.json
            except Exception:
                return response.text("bad request", status=400)
            event, query_id = parse_telegram_update(update, self.texts.telegram_start)
            if query_id:
                self.spawn(self.acknowledge(query_id))
            if event is not None:
                self.accept(on_new_message, request.app.ctx.agent, event)
            return response.text("ok")

        @webhook.listener("after_server_start")
        async def register(*_: Any) -> None:
            self.spawn(self.register_webhook())

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.sender.close()

        return webhook

    def get_output_channel(self) -> OutputChannel:  # type: ignore[override]
        return MessagingOutput(self)
