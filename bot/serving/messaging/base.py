"""What the three connectors share: the turn (first-contact notice, menu choice, Rasa, never
silent), the shaped sending, and the per-conversation menu memory.

The last menu is remembered by the process that sent it and, for a reply that reaches another
replica (or a restarted one), read back from the conversation in the tracker store: the buttons
of the last bot message that had some, else the fixed menu of the first-contact notice.

A webhook is acknowledged as soon as it is authenticated and parsed; the turn runs as a
background task on Rasa's event loop (platforms retry webhooks that answer slowly, which would
duplicate questions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered

from bot.serving.messaging.sender import HttpSender
from bot.serving.messaging.shaping import LIMITS, choices_of, chosen, numbered_menu, split_message
from bot.serving.messaging.texts import Choice, Texts, load_texts
from bot.serving.redact import redact
from bot.serving.rest_channel import clean_text, strip_command_prefix

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
PRIVACY_URL_ENV = "OIM_PRIVACY_URL"
PUBLIC_URL_ENV = "OIM_PUBLIC_URL"  # the web service's public address (bot/serving/web/config.py)
PRIVACY_PATH = "/confidentialite"  # the privacy page the web service serves (bot/serving/web/privacy.py)
MAX_MENUS = 10_000
TURN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Incoming:
    """One parsed webhook event.

    kind: "text" (typed), "choice" (a button / quick reply payload), "media" (voice, image,
    location, sticker...), "edited"; `address` is the platform's id of the user (phone, chat id,
    page-scoped id)."""

    kind: str
    address: str
    text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


class MenuMemory:
    """The last menu offered in each conversation, with when (bounded: oldest conversations forgotten first)."""

    def __init__(self, size: int = MAX_MENUS) -> None:
        self._menus: OrderedDict[str, tuple[float, tuple[Choice, ...]]] = OrderedDict()
        self.size = size

    def remember(self, conversation: str, menu: Sequence[Choice]) -> None:
        self._menus[conversation] = (time.time(), tuple(menu))
        self._menus.move_to_end(conversation)
        while len(self._menus) > self.size:
            self._menus.popitem(last=False)

    def last(self, conversation: str) -> tuple[Choice, ...]:
        return self.last_sent(conversation)[1]

    def last_sent(self, conversation: str) -> tuple[float, tuple[Choice, ...]]:
        """(when, menu); (0, ()) if this process offered none."""
        return self._menus.get(conversation, (0.0, ()))


def privacy_link(env: Mapping[str, str]) -> str:
    """The notice's privacy link: OIM_PRIVACY_URL, else the web service's page under OIM_PUBLIC_URL,
    else none (a public URL that is not http(s) is ignored, with a warning)."""
    explicit = env.get(PRIVACY_URL_ENV, "").strip()
    if explicit:
        return explicit
    public = env.get(PUBLIC_URL_ENV, "").strip().rstrip("/")
    if not public:
        return ""
    if not public.startswith(("https://", "http://")):
        logger.warning("%s=%r is not an http(s) URL: the first-contact notice has no privacy link", PUBLIC_URL_ENV,
                       public)
        return ""
    return public + PRIVACY_PATH


@dataclass(frozen=True)
class StoredState:
    """What the tracker store tells about a conversation before its turn."""

    new: bool = False
    menu: tuple[Choice, ...] = ()
    menu_at: float = 0.0  # when the bot message with that menu was sent (0: the notice's fixed menu)


class MessagingConnector:
    """Mixed into each input channel: `platform` ("whatsapp"...), `send_chunk` per platform."""

    platform: str = ""
    sender: HttpSender
    menus: MenuMemory
    texts: Texts
    privacy_url: str = ""

    def _setup_messaging(self, platform: str, retry_base_s: Any = None, max_chars: Any = None) -> None:
        """`max_chars` can only lower the platform's limit (e.g. for SMS-like displays, or tests)."""
        self.platform = platform
        self.max_chars = min(int(max_chars), LIMITS[platform]) if max_chars else LIMITS[platform]
        if self.max_chars < 200:
            raise ValueError(f"{platform}: max_chars must be at least 200")
        self.sender = HttpSender(platform)
        if retry_base_s is not None:
            self.sender.base_delay_s = float(retry_base_s)
        self.menus = MenuMemory()
        self.texts = load_texts()
        self.privacy_url = privacy_link(os.environ)
        self._tasks: set[asyncio.Task] = set()
        self._turns: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # conversation -> lock, users

    @contextlib.asynccontextmanager
    async def one_turn_at_a_time(self, conversation: str) -> AsyncIterator[None]:
        """The turns of one conversation in this process, one after the other.

        Why: a user who answers within milliseconds sent a second message before the first turn was
        saved: it was read as a new conversation (the first-contact notice twice) and waited for
        Rasa's conversation lock, which polls once a second. (Rasa's lock is taken inside the turn,
        and is not reentrant: it cannot cover the notice.)"""
        lock, users = self._turns.setdefault(conversation, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                self._turns.pop(conversation, None)

    # --- ids -------------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        return f"{self.platform}-"

    def conversation_id(self, address: str) -> str:
        return self.prefix + address

    def address_of(self, conversation_id: str) -> str:
        if not conversation_id.startswith(self.prefix):
            raise ValueError(f"{redact(conversation_id)} is not a {self.platform} conversation")
        return conversation_id[len(self.prefix):]

    @property
    def limit(self) -> int:
        return self.max_chars

    # --- sending ---------------------------------------------------------------------------------
    async def send_chunk(self, address: str, conversation: str, text: str, menu: Sequence[Choice]) -> bool:
        """Send one message (with `menu` as the platform's buttons, when it has some)."""
        raise NotImplementedError

    def menu_as_text(self) -> bool:
        """True when the platform has no buttons: the menu becomes a numbered list (WhatsApp)."""
        return False

    async def deliver(self, address: str, text: str, menu: Sequence[Choice] = ()) -> int:
        """One reply, shaped: split only when over the limit, the menu on its last message.
        Returns how many messages were delivered."""
        conversation = self.conversation_id(address)
        tail = ""
        if menu:
            self.menus.remember(conversation, menu)
            if self.menu_as_text():
                tail = numbered_menu(menu, self.texts.numbered_prompt)
        chunks = split_message(text, self.limit, tail)
        delivered = 0
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            buttons = menu if last and not self.menu_as_text() else ()
            if await self.send_chunk(address, conversation, chunk, buttons):
                delivered += 1
        return delivered

    def example_menu(self) -> tuple[Choice, ...]:
        return self.texts.menu

    def menu_text(self, text: str) -> str:
        return f"{text}\n\n{self.texts.menu_intro}" if self.texts.menu_intro else text

    # --- receiving -------------------------------------------------------------------------------
    def spawn(self, turn: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(turn)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def accept(self, on_new_message: OnNewMessage, agent: Any, event: Incoming) -> None:
        """Run the turn of an authentic event in the background."""
        self.spawn(self.turn(on_new_message, agent, event))

    def resolve(self, event: Incoming, stored: StoredState | None = None) -> str:
        """The text Rasa reads: a menu number or payload becomes the chosen question; typed text
        loses leading "/" (no intent injection: only payloads of offered menus pass as they are).
        The menu is the newer of the one this process sent and the one read from the store."""
        conversation = self.conversation_id(event.address)
        sent_at, menu = self.menus.last_sent(conversation)
        if stored is not None and stored.menu and (not menu or stored.menu_at > sent_at):
            menu = stored.menu
        picked = chosen(event.text, menu)
        if picked is not None:
            return picked.payload
        if event.kind == "choice" and any(choice.payload == event.text for choice in menu):
            return event.text
        return strip_command_prefix(clean_text(event.text)).strip()

    async def stored_state(self, agent: Any, conversation: str) -> StoredState:
        """Is the conversation new, and the last menu it was shown, from the tracker store."""
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return StoredState()
        try:
            tracker = await store.retrieve(conversation)
        except Exception:  # a store outage must not stop the answer
            logger.exception("%s: cannot read conversation %s", self.platform, redact(conversation))
            return StoredState()
        events = list(tracker.events) if tracker is not None else []
        if not any(isinstance(event, UserUttered) for event in events):
            return StoredState(new=True)
        for event in reversed(events):
            if isinstance(event, BotUttered) and (menu := choices_of(event.data or {})):
                return StoredState(menu=tuple(menu), menu_at=float(event.timestamp or 0.0))
        return StoredState(menu=self.example_menu())

    async def turn(self, on_new_message: OnNewMessage, agent: Any, event: Incoming) -> None:
        conversation = self.conversation_id(event.address)
        try:
            if event.kind in {"media", "edited"}:
                reply = self.texts.media if event.kind == "media" else self.texts.edited
                await self.deliver(event.address, reply, self.example_menu() if event.kind == "media" else ())
                return
            async with self.one_turn_at_a_time(conversation):
                await self._text_turn(on_new_message, agent, event, conversation)
        except Exception:  # never let a background turn die silently
            logger.exception("%s: cannot answer conversation %s", self.platform, redact(conversation))

    async def _text_turn(self, on_new_message: OnNewMessage, agent: Any, event: Incoming, conversation: str) -> None:
        """Notice if new, the message to Rasa, the polite error if Rasa sent nothing."""
        stored = await self.stored_state(agent, conversation)
        text = self.resolve(event, stored)
        if not text:
            await self.deliver(event.address, self.texts.media, self.example_menu())
            return
        if stored.new:
            await self.deliver(event.address, self.menu_text(self.texts.notice(self.privacy_url)),
                               self.example_menu())
        output = MessagingOutput(self)
        message = UserMessage(text, output, conversation, input_channel=self.platform_channel_name(),
                              metadata=event.metadata or None)
        try:
            await asyncio.wait_for(on_new_message(message), TURN_TIMEOUT_S)
        except Exception:
            logger.exception("%s: the turn of conversation %s failed", self.platform, redact(conversation))
        if output.replies == 0:
            await self.deliver(event.address, self.texts.error)

    def platform_channel_name(self) -> str:
        """Rasa's name of the input channel (twilio, telegram, facebook), stored with each message."""
        name = getattr(type(self), "name", None)
        return str(name()) if callable(name) else self.platform


class MessagingOutput(OutputChannel):
    """Rasa's bot messages of a conversation of `connector`, shaped and sent (also the output
    channel Rasa's HTTP API uses for `POST /conversations/<id>/execute`)."""

    def __init__(self, connector: MessagingConnector) -> None:
        self.connector = connector
        self.replies = 0

    @classmethod
    def name(cls) -> str:
        return "messaging"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text = str(message.get("text") or "")
        if not text and message.get("image"):
            text = str(message["image"])
        menu = choices_of(message)
        if not text and not menu:
            return  # custom payloads, attachments: nothing a phone user can read
        address = self.connector.address_of(recipient_id)
        self.replies += 1
        await self.connector.deliver(address, text, menu)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})
