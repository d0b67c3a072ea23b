"""WhatsApp through Twilio: Rasa's `TwilioInput`, signed webhooks only, shaped replies, async sending.

credentials (bot/serving/channels.yml writes them from TWILIO_* variables):
    bot.serving.messaging.whatsapp.WhatsAppInput:
      account_sid: AC...
      auth_token: ...                 # signs the webhooks and authenticates the sends
      twilio_number: whatsapp:+1...   # the WhatsApp sender
      webhook_url: https://<public host>/webhooks/twilio/webhook   # exactly as set in Twilio's console
      api_base_url: https://api.twilio.com                        # optional (tests: the simulator)
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Sequence
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.twilio import TwilioInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.serving.messaging.base import Incoming, MessagingConnector, MessagingOutput, OnNewMessage
from bot.serving.messaging.signatures import twilio_signature_valid
from bot.serving.messaging.texts import Choice
from bot.serving.redact import redact

logger = logging.getLogger(__name__)

DEFAULT_API = "https://api.twilio.com"
WHATSAPP = "whatsapp:"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def parse_twilio_form(form: dict[str, str]) -> Incoming | None:
    """A Twilio WhatsApp webhook's fields as an event; None when it is not a WhatsApp message."""
    sender = form.get("From", "")
    if not sender.startswith(WHATSAPP) or len(sender) <= len(WHATSAPP):
        return None
    address = sender[len(WHATSAPP):]
    metadata = {"platform": "whatsapp"}
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        media = 0
    if media > 0 or form.get("Latitude") or form.get("Longitude"):
        return Incoming("media", address, metadata=metadata)
    if form.get("ButtonPayload"):
        return Incoming("choice", address, form["ButtonPayload"], metadata)
    return Incoming("text", address, form.get("Body") or "", metadata)


class WhatsAppInput(TwilioInput, MessagingConnector):
    """Served at /webhooks/twilio/webhook like Rasa's Twilio channel."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None
        for key in ("account_sid", "auth_token", "twilio_number", "webhook_url"):
            if not str(credentials.get(key) or "").strip():
                raise ValueError(f"WhatsApp (Twilio): credential '{key}' is missing")
        return cls(
            str(credentials["account_sid"]), str(credentials["auth_token"]), str(credentials["twilio_number"]),
            webhook_url=str(credentials["webhook_url"]),
            api_base_url=str(credentials.get("api_base_url") or DEFAULT_API),
            retry_base_s=credentials.get("retry_base_s"), max_chars=credentials.get("max_chars"),
        )

    def __init__(self, account_sid: str, auth_token: str, twilio_number: str, webhook_url: str,
                 api_base_url: str = DEFAULT_API, retry_base_s: Any = None, max_chars: Any = None) -> None:
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=False)
        if not twilio_number.startswith(WHATSAPP):
            self.twilio_number = WHATSAPP + twilio_number
        self.webhook_url = webhook_url.strip()
        self.api_base_url = api_base_url.rstrip("/")
        self._setup_messaging("whatsapp", retry_base_s, max_chars)

    def menu_as_text(self) -> bool:
        return True

    @property
    def messages_url(self) -> str:
        return f"{self.api_base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    async def send_chunk(self, address: str, conversation: str, text: str, menu: Sequence[Choice]) -> bool:
        form = {"To": WHATSAPP + address, "From": str(self.twilio_number), "Body": text}
        auth = aiohttp.BasicAuth(str(self.account_sid), str(self.auth_token))
        return await self.sender.post(self.messages_url, conversation, data=form, auth=auth) is not None

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the configured public URL, with the request's query string."""
        query = request.query_string
        return f"{self.webhook_url}?{query}" if query else self.webhook_url

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("twilio_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(self.sender.stats.report())  # "failing" after a send failed for good

        @webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            # Parsed here, blank values kept: Sanic's request.form drops "Body=" (media messages),
            # and Twilio signs every field it sent.
            try:
                pairs = urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                return response.text("bad request", status=400)
            signature = request.headers.get("X-Twilio-Signature", "")
            if not twilio_signature_valid(str(self.auth_token), self.signed_url(request), pairs, signature):
                logger.warning("whatsapp: webhook refused, bad or missing X-Twilio-Signature")
                return response.text("forbidden", status=403)
            form = {key: value for key, value in pairs}
            event = parse_twilio_form(form)
            if event is None:
                logger.info("whatsapp: ignored a webhook that is not a WhatsApp message from %s",
                            redact(form.get("From", "?")))
            else:
                self.accept(on_new_message, request.app.ctx.agent, event)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.sender.close()

        return webhook

    def get_output_channel(self) -> OutputChannel:
        return MessagingOutput(self)
