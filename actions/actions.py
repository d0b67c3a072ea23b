"""Rasa SDK actions: thin adapters from a tracker to `actions.answers` and back.

Why thin: the behaviour lives in `actions.answers` (tested on real knowledge files); here we only
read the message and slots, call it, and turn its Reply into bot messages and slot events.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, focused
from bot.knowledge.handoff_hours import HoursError, StaffHours, staff_hours
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.nlp import one_turn
from bot.knowledge.search import GOOD_SCORE, spacy_terms
from bot.knowledge.sentence_search import sentence_index
from bot.knowledge.store import current_knowledge

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    """Load spaCy and index the sentences now, not during the first user's question."""
    try:
        spacy_terms(["Qu'est-ce que l'OIM ?"])
        sentence_index(current_knowledge())
    except Exception:  # noqa: BLE001 - the first real request will report the same problem
        logger.exception("warm-up of the knowledge search failed")
    try:  # a bad staff hours file is reported at start, not at the first request for a human
        logger.info("staff handoff queue: %s", "on" if staff_hours().queue else "off")
    except HoursError:
        logger.exception("staff hours settings invalid: the handoff reply says no person is available")


# Before the server listens: its health check then means "ready to answer in milliseconds"
# (building the sentence index takes seconds; a question arriving meanwhile would time out).
_warm_up()

# Messages of the conversation the answer looks back on (what the user said about themselves).
RECENT_MESSAGES = 10
# Passage search scores at or above this are offered to the user (calibrated in bot/knowledge/search.py).
MIN_PASSAGE_SCORE = float(os.environ.get("OIM_MIN_PASSAGE_SCORE", str(GOOD_SCORE)))

Composer = Callable[[KnowledgeBase, answers.Turn, dict[str, Any]], answers.Reply]


def _entity(tracker: Tracker, name: str, known: Callable[[str], bool] | None = None) -> str | None:
    """The last value of this entity in the latest message, preferring one the knowledge knows.

    Why: the entity tagger sometimes adds a stray short tag ("mail du service de presse" gives
    contact_target "du" and "press"); a value the knowledge base recognises is the one meant.
    """
    values = [
        str(e.get("value"))
        for e in tracker.latest_message.get("entities", [])
        if e.get("entity") == name and e.get("value")
    ]
    recognised = [value for value in values if known is not None and known(value)]
    chosen = recognised or values
    return chosen[-1] if chosen else None


def _entity_words(tracker: Tracker, name: str) -> str | None:
    """The last such entity's words as the message writes them (its value may be a longer name)."""
    text = str(tracker.latest_message.get("text") or "")
    spans = [
        text[e["start"]:e["end"]]
        for e in tracker.latest_message.get("entities", [])
        if e.get("entity") == name and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
    ]  # fmt: skip
    return (spans[-1].strip() or None) if spans else None


def turn_from_tracker(tracker: Tracker, kb: KnowledgeBase) -> answers.Turn:
    """The latest message's intent and entities plus the context slots."""
    message = tracker.latest_message or {}
    said = tuple(str(event.get("text") or "") for event in tracker.events if event.get("event") == "user")
    said = said[-RECENT_MESSAGES:]
    return answers.Turn(
        intent=(message.get("intent") or {}).get("name") or "",
        text=message.get("text") or "",
        programme=_entity(tracker, "programme", lambda v: kb.entry_for_programme(v) is not None),
        country=_entity(tracker, "country"),
        country_said=_entity_words(tracker, "country"),
        contact_target=_entity(tracker, "contact_target", lambda v: bool(kb.contacts_for(target=v))),
        topic=tracker.get_slot("topic"),
        programme_slot=tracker.get_slot("programme"),
        said=said,
        # The user event keeps the message as sent; the NLU's text is its question alone.
        full_text=said[-1] if said and said[-1] != message.get("text") else "",
        previous_reply=previous_reply(tracker.events),
        contact_slot=tracker.get_slot("contact_target"),
        ranked_intents=ranked_intents(message),
        urgent=bool(tracker.get_slot("urgent")),
    )


FALLBACK_INTENT = "nlu_fallback"  # Rasa's FallbackClassifier intent
# The classifier's runners-up read for a message it was unsure of: at most this many, each at
# least this confident (two questions in one message split its confidence between two intents).
RANKED_INTENTS = 2
RANKED_INTENT_MIN = 0.1


def ranked_intents(message: dict[str, Any]) -> tuple[str, ...]:
    """The best intents of the message's ranking, the fallback left out (for a message the
    classifier was unsure of: each of its questions may be one of them)."""
    ranking = message.get("intent_ranking") or []
    names = [
        str(r.get("name")) for r in ranking
        if isinstance(r, dict) and r.get("name") != FALLBACK_INTENT
        and float(r.get("confidence") or 0.0) >= RANKED_INTENT_MIN
    ]  # fmt: skip
    return tuple(names[:RANKED_INTENTS])


def previous_reply(events: list[dict[str, Any]]) -> str:
    """The bot's texts between the user's last two messages: what a follow-up already got."""
    texts: list[str] = []
    users = 0
    for event in reversed(events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                break
        elif event.get("event") == "bot" and users == 1:
            texts.append(str(event.get("text") or ""))
    return "\n".join(reversed(texts))


def send(reply: answers.Reply, dispatcher: CollectingDispatcher) -> list[EventType]:
    """Utter the reply's messages and return its slot updates as events."""
    for message in reply.messages:
        variables = dict(message)
        dispatcher.utter_message(response=variables.pop("response"), **variables)
    return [SlotSet(name, value) for name, value in reply.slots.items()]


class _KnowledgeAction(Action):
    """Runs one composer over the current knowledge; a failure becomes a polite message."""

    action_name: str = ""
    compose: Composer
    log_line: str | None = None  # logged at INFO with the conversation id (never what was said)

    def name(self) -> str:
        return self.action_name

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        if self.log_line:
            logger.info(self.log_line, tracker.sender_id)
        try:
            kb = current_knowledge()
            with one_turn():  # one reply's searches share spaCy's reading of its words, never across replies
                reply = type(self).compose(kb, turn_from_tracker(tracker, kb), domain)
        except Exception:  # one broken answer must not take the conversation down
            logger.exception("action %s failed", self.action_name)
            dispatcher.utter_message(response="utter_action_error")
            return []
        return send(reply, dispatcher)


def _question(kb: KnowledgeBase, turn: answers.Turn, domain: dict[str, Any]) -> answers.Reply:
    reply = focused.respond(kb, turn, domain, "intent")
    return reply if reply.messages else answers.answer_question(kb, turn, domain)


class ActionAnswerQuestion(_KnowledgeAction):
    action_name = "action_answer_question"
    compose = staticmethod(_question)


def _safety(kb: KnowledgeBase, turn: answers.Turn, domain: dict[str, Any]) -> answers.Reply:
    match = kb.safety.match(turn.text)
    return focused.safety_and_situation(kb, turn, domain, match.category if match else "distress")


# Small talk the classifier may read into a follow-up question ("où ça ?" as "oui", "c'est avec
# qui ?" as "are you a bot?"): answered against the topic when it is a question about it.
SMALL_TALK_RESPONSES = {
    "affirm": "utter_affirm",
    "deny": "utter_deny",
    "bot_challenge": "utter_bot_challenge",
    "ask_capabilities": "utter_capabilities",
    "ask_asylum_visa": "utter_asylum_visa",
    "other_language": "utter_other_language",
}


# A question ending on "non ?" or "oui ?" may be read as the answer itself.
YES_NO_INTENTS = frozenset({"affirm", "deny"})


# Said even when the pages answer part of the message: no promise on asylum or a visa
# ("j'ai combien de chances d'avoir un visa ?": the pages do not say, and nobody can promise).
SAID_EVEN_AFTER_AN_ANSWER = frozenset({"ask_asylum_visa"})


def _small_talk(kb: KnowledgeBase, turn: answers.Turn, domain: dict[str, Any]) -> answers.Reply:
    if turn.intent == "other_language" and focused.reads_as_french(kb, turn.text):
        return _fallback(kb, turn, domain)  # French in SMS spelling: a question after all
    reply = focused.answer_small_talk(kb, turn, domain)
    if not reply.messages and turn.intent in YES_NO_INTENTS and focused.is_page_question(kb, turn.text):
        # "je pars travailler à Amman, je compte pas vraiment comme migrante non ?" read as "non":
        # a question on the pages, answered as the fallback answers one, never "Très bien".
        return _fallback(kb, turn, domain)
    if not reply.messages or (turn.intent in SAID_EVEN_AFTER_AN_ANSWER and not reply.slots.get("urgent")):
        reply.say(SMALL_TALK_RESPONSES.get(turn.intent, "utter_affirm"))
    return reply


class ActionSmallTalk(_KnowledgeAction):
    action_name = "action_small_talk"
    compose = staticmethod(_small_talk)


class ActionSafetyTriage(_KnowledgeAction):
    action_name = "action_safety_triage"
    compose = staticmethod(_safety)
    # Staff see these conversations first (slot `urgent`); the id is not personal data.
    log_line = "urgent conversation flagged: %s"


class ActionAnswerContact(_KnowledgeAction):
    action_name = "action_answer_contact"
    compose = staticmethod(focused.answer_contact_request)


def _staff_hours() -> StaffHours | None:
    """The staff queue settings; None (no promise of a person) when they are invalid."""
    try:
        return staff_hours()
    except HoursError:
        logger.exception("staff hours settings invalid: the handoff reply says no person is available")
        return None


def _handoff(kb: KnowledgeBase, turn: answers.Turn, domain: dict[str, Any]) -> answers.Reply:
    if focused.page_question_read_as_handoff(kb, turn.text):
        found = _fallback(kb, turn, domain)
        if any(m.get("response") in focused.ANSWERS for m in found.messages):
            return found
    return answers.answer_handoff(kb, turn, domain, _staff_hours())


class ActionHumanHandoff(_KnowledgeAction):
    action_name = "action_human_handoff"
    compose = staticmethod(_handoff)
    # Staff find these conversations by the handoff_requested slot; the id is not personal data.
    log_line = "human handoff requested in conversation %s"


def _fallback(kb: KnowledgeBase, turn: answers.Turn, domain: dict[str, Any]) -> answers.Reply:
    # "?", "...", an emoji, "asdfghjkl": respond() asks to rephrase (nothing to search with).
    reply = focused.respond(kb, turn, domain, "fallback")
    return reply if reply.messages else answers.answer_fallback(kb, turn, domain, MIN_PASSAGE_SCORE)


class ActionSearchFallback(_KnowledgeAction):
    action_name = "action_search_fallback"
    compose = staticmethod(_fallback)


def _out_of_scope(kb: KnowledgeBase, turn: answers.Turn, domain: dict[str, Any]) -> answers.Reply:
    reply = focused.respond(kb, turn, domain, "out_of_scope")
    return reply if reply.messages else answers.answer_out_of_scope(kb, turn, domain, MIN_PASSAGE_SCORE)


class ActionOutOfScope(_KnowledgeAction):
    action_name = "action_out_of_scope"
    compose = staticmethod(_out_of_scope)
