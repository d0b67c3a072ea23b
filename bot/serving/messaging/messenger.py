"""Facebook Messenger: Rasa's `FacebookInput`, webhooks signed with `X-Hub-Signature-256` only
(constant-time comparison), shaped replies with quick replies, async sending to the Graph API.

credentials (bot/serving/channels.yml writes them from FACEBOOK_* variables):
    bot.serving.messaging.messenger.MessengerSecureInput:
      verify: <your verify token>          # echoed back when Meta checks the webhook URL (GET)
      secret: <app secret>                 # signs every POST
      page-access-token: <page token>      # sends the replies
      api_base_url: https://graph.facebook.com/v18.0   # optional (tests: the simulator)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.facebook import FacebookInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.serving.messaging.base import Incoming, MessagingConnector, MessagingOutput, OnNewMessage
from bot.serving.messaging.signatures import messenger_signature_valid
from bot.serving.messaging.texts import Choice

logger = logging.getLogger(__name__)

DEFAULT_API = "https://graph.facebook.com/v18.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20


def parse_messenger_body(body: Any) -> list[Incoming]:
    """Every user event of a (verified) webhook body; echoes, deliveries and reads are dropped."""
    if not isinstance(body, dict) or body.get("object") != "page":
        return []
    events = []
    for entry in body.get("entry") or []:
        items = entry.get("messaging") if isinstance(entry, dict) else None
        for item in items or []:
            if not isinstance(item, dict):
                continue
            psid = str((item.get("sender") or {}).get("id") or "")
            if not psid:
                continue
            metadata = {"platform": "messenger"}
            message = item.get("message")
            postback = item.get("postback")
            if isinstance(message, dict):
                if message.get("is_echo"):
                    continue
                quick = message.get("quick_reply") or {}
                if quick.get("payload"):
                    events.append(Incoming("choice", psid, str(quick["payload"]), metadata))
                elif message.get("attachments"):
                    events.append(Incoming("media", psid, metadata=metadata))
                elif isinstance(message.get("text"), str):
                    events.append(Incoming("text", psid, message["text"], metadata))
            elif isinstance(postback, dict) and postback.get("payload"):
                events.append(Incoming("choice", psid, str(postback["payload"]), metadata))
            elif isinstance(item.get("message_edit"), dict):
                events.append(Incoming("edited", psid, metadata=metadata))
    return events


def quick_replies(menu: Sequence[Choice]) -> list[dict[str, str]]:
    return [{"content_type": "text", "title": choice.title[:MAX_QUICK_REPLY_TITLE], "payload": str(i)}
            for i, choice in enumerate(menu[:MAX_QUICK_REPLIES], 1)]


class MessengerSecureInput(FacebookInput, MessagingConnector):
    """Served at /webhooks/facebook/webhook like Rasa's Facebook channel."""

    @classmethod
    def name(cls) -> str:
        return "facebook"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None
        for key in ("verify", "secret", "page-access-token"):
            if not str(credentials.get(key) or "").strip():
                raise ValueError(f"Messenger: credential '{key}' is missing")
        return cls(str(credentials["verify"]), str(credentials["secret"]), str(credentials["page-access-token"]),
                   api_base_url=str(credentials.get("api_base_url") or DEFAULT_API),
                   retry_base_s=credentials.get("retry_base_s"), max_chars=credentials.get("max_chars"))

    def __init__(self, fb_verify: str, fb_secret: str, fb_access_token: str,
                 api_base_url: str = DEFAULT_API, retry_base_s: Any = None, max_chars: Any = None) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.api_base_url = api_base_url.rstrip("/")
        self._setup_messaging("messenger", retry_base_s, max_chars)

    async def send_chunk(self, address: str, conversation: str, text: str, menu: Sequence[Choice]) -> bool:
        message: dict[str, Any] = {"text": text}
        if menu:
            message["quick_replies"] = quick_replies(menu)
        payload = {"recipient": {"id": address}, "messaging_type": "RESPONSE", "message": message}
        url = f"{self.api_base_url}/me/messages"
        answer = await self.sender.post(url, conversation, json=payload, params={"access_token": self.fb_access_token})
        return answer is not None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("fb_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(self.sender.stats.report())  # "failing" after a send failed for good

        @webhook.route("/webhook", methods=["GET"])
        async def verification(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") == "subscribe" and token and self._same(token, self.fb_verify):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("messenger: webhook verification refused (wrong verify token)")
            return response.text("forbidden", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not messenger_signature_valid(self.fb_secret, request.body, request.headers.get(SIGNATURE_HEADER)):
                logger.warning("messenger: webhook refused, bad or missing %s", SIGNATURE_HEADER)
                return response.text("forbidden", status=403)
            try:
                body = request.json
            except Exception:
                return response.text("bad request", status=400)
            for event in parse_messenger_body(body):
                self.accept(on_new_message, request.app.ctx.agent, event)
            return response.text("EVENT_RECEIVED")

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.sender.close()

        return webhook

    @staticmethod
    def _same(a: str, b: str) -> bool:
        import hmac

        return hmac.compare_digest(a.encode(), b.encode())

    def get_output_channel(self) -> OutputChannel:
        return MessagingOutput(self)
