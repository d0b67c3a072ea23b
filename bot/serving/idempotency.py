"""One user message handled once, even when it arrives twice (issue 17): the REST channel's message ids.

A message reaches Rasa twice when nginx passes it to another replica because the first one died after
saving the turn but before answering (`proxy_next_upstream ... non_idempotent`), or when a client
resends a message whose turn failed after it was saved. Each REST message carries an id: the client's
JSON field `message_id` if it sent one, else the `X-Request-ID` header nginx adds (`$request_id`, the
same for every retry of one client request). The channel gives it to Rasa as the `UserMessage`'s
`message_id` (stored on the `UserUttered` event) and, under the conversation's lock (the agent's own
lock store), looks for a user event with that id in the conversation's tracker before handling it:
if there is one, the message is not handled again and the reply is the bot messages that followed
it. See docs/channels.md ("REST channel: message ids").
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, UserUttered

from bot.serving.redact import redact

logger = logging.getLogger(__name__)

MESSAGE_ID_FIELD = "message_id"  # JSON field of the REST body, set by the client
REQUEST_ID_HEADER = "X-Request-ID"  # set by nginx (deploy/nginx/nginx.conf)
MAX_MESSAGE_ID_CHARS = 128


def valid_message_id(value: Any) -> bool:
    """A non-empty printable string of at most MAX_MESSAGE_ID_CHARS characters."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_MESSAGE_ID_CHARS
        and value.strip() == value
        and value.isprintable()
    )


def header_message_id(value: str | None) -> str | None:
    """nginx's request id, or None when absent or malformed (a header is never a reason for a 400)."""
    return value if value is not None and valid_message_id(value) else None


def stored_reply(events: list[Any], message_id: str) -> list[dict[str, Any]] | None:
    """The bot messages (as the REST channel sends them) that followed the user event `message_id`
    in `events`, up to the next user event; None when no user event has that id."""
    for index, event in enumerate(events):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return [e.message() for e in _turn(events[index + 1:])]
    return None


def _turn(events: list[Any]) -> list[BotUttered]:
    bots: list[BotUttered] = []
    for event in events:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            bots.append(event)
    return bots


async def handle_once(agent: Any, message: UserMessage) -> bool:
    """Rasa's `Agent.handle_message` with the duplicate check inside the conversation's lock.

    The agent's lock store serialises the copies of one message across replicas; the first one
    handles it and saves the turn before releasing the lock, so a later copy finds it in the
    tracker and gets the same bot messages (sent to `message.output_channel`) without a new turn.
    Returns True when the message was a copy. `Agent.handle_message` takes the same lock, so it
    cannot be called here (the ticket lock is not reentrant): its two lines are repeated.
    """
    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.tracker_store.retrieve(message.sender_id)
        reply = stored_reply(list(tracker.events), message.message_id) if tracker is not None else None
        if reply is not None:
            logger.info("conversation %s: message %s already handled, its reply sent again",
                        redact(message.sender_id), message.message_id)
            for bot_message in reply:  # as Rasa sent them: send_response splits and shapes them
                await message.output_channel.send_response(message.sender_id, bot_message)
            return True
        await agent.processor.handle_message(message)
        return False
