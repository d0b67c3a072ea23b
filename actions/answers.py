"""Compose answers from the knowledge base: which entry, which aspect, which contacts.

Why a module apart from the Rasa actions: the choices here (what to say for a follow-up, when the
documents are silent, which contact fits) are the product's behaviour; they are plain functions of
(knowledge, message, slots) so tests run them on the real knowledge files without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any

from actions.texts import DomainDict, join_french, response_text
from bot.knowledge.handoff_hours import WEEKDAYS, StaffHours, general_contact_id
from bot.knowledge.knowledge_base import Audience, Contact, Entry, Fact, KnowledgeBase, SearchHit
from bot.knowledge.textnorm import fold, folded_words, numbers_in

# Intents that ask for one aspect of a programme rather than the programme itself.
ASPECT_INTENTS = {"ask_programme_eligibility": "who", "ask_how_to_apply": "how"}
FOLLOW_UP_INTENT = "inform"
# Passages shown to a user are cut to this many characters (a phone screen).
EXCERPT_CHARS = 420
# A source line names at most this many pages: short enough for a phone, enough to check.
MAX_SOURCES = 2
# Figures of an entry that its short answer leaves out, listed under it for hotline staff.
MAX_EXTRA_FIGURES = 4
# "je ne suis pas réfugié": a word of an audience right after one of these does not count.
NEGATIONS = frozenset({"pas", "plus", "jamais", "non", "ni", "aucun", "aucune"})
NEGATION_REACH = 3  # words


@dataclass
class Reply:
    """What an action sends: response names with their variables, and slot updates."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    def say(self, response: str, **variables: str) -> None:
        self.messages.append({"response": response, **variables})


@dataclass(frozen=True)
class Turn:
    """The parts of the latest user message and of the conversation state the answer needs."""

    intent: str
    text: str = ""
    programme: str | None = None  # entity in this message
    country: str | None = None  # entity in this message
    country_said: str | None = None  # that entity's words as the message writes them ("États-Unis")
    contact_target: str | None = None  # entity in this message
    topic: str | None = None  # slot: last entry answered
    programme_slot: str | None = None  # slot: last programme talked about
    said: tuple[str, ...] = ()  # the user's recent messages, oldest first, this one included
    previous_reply: str = ""  # what the assistant answered to the message before this one
    contact_slot: str | None = None  # slot: the contact target last answered
    ranked_intents: tuple[str, ...] = ()  # the classifier's best intents, fallback left out
    urgent: bool = False  # slot: the conversation was flagged urgent by the safety triage
    # The message as sent, when the NLU read only its question (a story told before it): the story
    # names what "ce truc", "en" point to. Empty when it is `text` itself.
    full_text: str = ""


def sources_line(kb: KnowledgeBase, passage_ids: Iterable[str]) -> str:
    """Unique page titles of the cited passages, in citation order."""
    titles: list[str] = []
    for passage_id in passage_ids:
        title = kb.source_title(passage_id)
        if title and title not in titles:
            titles.append(title)
    return " ; ".join(titles[:MAX_SOURCES])


def extra_figures(answer: str, facts: Sequence[Fact]) -> str:
    """'• label : value' lines for facts carrying a number the answer does not already give."""
    given = numbers_in(answer)
    lines: list[str] = []
    for fact in facts:
        numbers = numbers_in(fact.value)
        if numbers and not numbers <= given:
            lines.append(f"• {fact.label} : {fact.value}")
            given |= numbers
    return "\n\n" + "\n".join(lines[:MAX_EXTRA_FIGURES]) if lines else ""


def _entry_sources(entry: Entry, aspect: str | None = None) -> list[str]:
    facts = entry.aspects[aspect].facts if aspect else entry.facts
    return [fact.source for fact in facts]


def resolve_entry(kb: KnowledgeBase, turn: Turn) -> Entry | None:
    """The entry the user asks about: the intent's own, else the programme named, else the topic."""
    if turn.intent not in ASPECT_INTENTS and turn.intent != FOLLOW_UP_INTENT:
        entry = kb.entry_for_intent(turn.intent)
        if entry is not None:
            return entry
    for programme in (turn.programme, None if turn.intent == FOLLOW_UP_INTENT else turn.programme_slot):
        if programme:
            entry = kb.entry_for_programme(programme)
            if entry is not None:
                return entry
    if turn.topic:
        entry = kb.entry(turn.topic)
        if entry is not None:
            return entry
    if turn.programme_slot:
        return kb.entry_for_programme(turn.programme_slot)
    return None


def said_to_be(audience: Audience, messages: Sequence[str]) -> bool:
    """Whether the user's latest word on it says they are this audience ("pas réfugié" says no)."""
    verdict = False
    for message in messages:
        words = folded_words(message)
        for i, word in enumerate(words):
            if word in audience.said:
                verdict = not NEGATIONS.intersection(words[max(0, i - NEGATION_REACH) : i])
    return verdict


def _redirect_for_audience(kb: KnowledgeBase, entry: Entry, turn: Turn, reply: Reply) -> Entry:
    """The entry for who the user said they are (a refugee who wants to go home), saying why.

    Only when the user did not name the programme: "et le retour volontaire ?" gets that programme.
    """
    if turn.programme:
        return entry
    for audience in entry.audiences:
        target = kb.entry(audience.answer_with)
        if target is not None and said_to_be(audience, turn.said):
            reply.say(
                "utter_audience_redirect",
                who=audience.who,
                quote=audience.quote,
                title=target.title,
                sources=sources_line(kb, [audience.source]),
            )
            return target
    return entry


def _say_country(reply: Reply, kb: KnowledgeBase, entry: Entry, country: str, domain: DomainDict) -> None:
    """Whether the documents name this country for the entry, with the quote that says so."""
    mention = entry.country(country)
    if mention is not None:
        reply.say(
            "utter_country_mentioned",
            country=mention.name,
            title=entry.title,
            quote=mention.quote,
            sources=sources_line(kb, [mention.source]),
        )
        return
    reply.say("utter_country_not_mentioned", country=country, title=entry.title)
    elsewhere = [e for e in kb.entries_for_country(country) if e.id != entry.id]
    if elsewhere:
        reply.say(
            "utter_country_elsewhere",
            country=country,
            titles=join_french([f"« {e.title} »" for e in elsewhere], domain),
        )


def _programme_menu(kb: KnowledgeBase, domain: DomainDict) -> str:
    titles = [e.title for e in kb.entries() if e.kind == "programme"]
    return join_french(titles, domain)


def answer_question(kb: KnowledgeBase, turn: Turn, domain: DomainDict) -> Reply:
    """Answer a knowledge question or a follow-up from the entry it is about."""
    reply = Reply()
    entry = resolve_entry(kb, turn)
    if entry is None:
        if turn.intent in ASPECT_INTENTS or turn.intent == FOLLOW_UP_INTENT:
            reply.say("utter_which_programme", programmes=_programme_menu(kb, domain))
        else:
            reply.say("utter_no_information")
        return reply

    entry = _redirect_for_audience(kb, entry, turn, reply)
    reply.slots["topic"] = entry.id
    if entry.programme:
        reply.slots["programme"] = entry.programme

    aspect = ASPECT_INTENTS.get(turn.intent)
    follow_up_country_only = (
        turn.intent == FOLLOW_UP_INTENT and turn.country and not turn.programme
    )
    if aspect:
        if aspect in entry.aspects:
            reply.say(
                "utter_knowledge_answer",
                answer=entry.aspects[aspect].answer,
                details="",
                sources=sources_line(kb, _entry_sources(entry, aspect)),
            )
        else:
            reply.say(
                "utter_aspect_unknown",
                aspect=response_text(domain, f"utter_label_aspect_{aspect}"),
                title=entry.title,
            )
            _say_contacts(reply, kb, contacts_for_entry(kb, entry), entry, domain)
    elif not follow_up_country_only:
        reply.say(
            "utter_knowledge_answer",
            answer=entry.answer,
            details=extra_figures(entry.answer, entry.facts),
            sources=sources_line(kb, _entry_sources(entry)),
        )
    if turn.country:
        _say_country(reply, kb, entry, turn.country, domain)
        reply.slots["country"] = turn.country
    return reply


def contacts_for_entry(kb: KnowledgeBase, entry: Entry | None) -> list[Contact]:
    """The entry's own contacts; none means the documents give no specific one."""
    if entry is None:
        return []
    return kb.contacts_for(entry_id=entry.id)


def _who(contact: Contact) -> list[str]:
    """The contact's name and organisation, those the documents give."""
    return [part for part in (contact.name, contact.organisation) if part]


def contact_card(contact: Contact, domain: DomainDict) -> str:
    """A contact as short lines: who, what for, then each channel exactly as in the documents."""
    who = _who(contact)
    lines = [f"{who[0]} ({who[1]})" if len(who) == 2 else (who[0] if who else contact.id)]
    if contact.purpose:
        lines.append(contact.purpose)
    channels: Sequence[tuple] = (
        ("utter_label_phone", contact.phones),
        ("utter_label_fax", contact.faxes),
        ("utter_label_email", contact.emails),
    )
    for label, values in channels:
        for value in values:
            lines.append(f"{response_text(domain, label)} : {value}")
    if contact.address:
        lines.append(f"{response_text(domain, 'utter_label_address')} : {contact.address}")
    return "\n".join(lines)


def contact_line(contact: Contact) -> str:
    """A contact in one line: who, then its first e-mail (else phone) exactly as in the documents."""
    who = ", ".join(_who(contact)) or contact.id
    reach = next(iter(contact.emails or contact.phones or contact.faxes), "")
    return f"{who} : {reach}" if reach else who


def _say_contacts(
    reply: Reply,
    kb: KnowledgeBase,
    contacts: list[Contact],
    entry: Entry | None,
    domain: DomainDict,
) -> None:
    if not contacts:
        if entry is not None:
            reply.say("utter_no_specific_contact", title=entry.title)
        else:
            reply.say("utter_contacts_intro")
        contacts = kb.contacts_for()
    else:
        reply.say("utter_contact_intro")
    for contact in contacts:
        reply.say(
            "utter_contact_card",
            card=contact_card(contact, domain),
            sources=sources_line(kb, [contact.source]),
        )


def contact_just_given(kb: KnowledgeBase, turn: Turn) -> str | None:
    """The contact target of the previous reply ("qui contacter pour la presse ?" then "son
    mail ?", "il est basé où ?"), when this message names no programme nor country of its own;
    without a target slot, the one contact the reply showed, if only one."""
    if turn.programme or turn.country:
        return None
    if not turn.contact_slot:
        # A card given for a topic, not for a named target ("qui contacter pour la session du
        # Conseil ?" then "et son tel ?"): the one contact whose e-mail or phone the reply shows.
        shown_targets = {
            c.target for c in kb.contacts_for()
            if c.target and any(v and v in turn.previous_reply for v in (*c.emails, *c.phones))
        }  # fmt: skip
        return next(iter(shown_targets)) if len(shown_targets) == 1 else None
    contacts = kb.contacts_for(target=turn.contact_slot)
    shown = [v for c in contacts for v in (*c.emails, *c.phones, *c.faxes, c.name or "") if v]
    return turn.contact_slot if any(value in turn.previous_reply for value in shown) else None


def answer_contact(kb: KnowledgeBase, turn: Turn, domain: DomainDict) -> Reply:
    """Contacts for the named target (or the one just given), else for the current topic, else every contact."""
    reply = Reply()
    target = turn.contact_target or contact_just_given(kb, turn)
    if target:
        contacts = kb.contacts_for(target=target)
        if contacts:
            reply.slots["contact_target"] = target
            _say_missing_channels(reply, kb, contacts, turn.text)
            _say_contacts(reply, kb, contacts, None, domain)
            return reply
    if turn.country:
        # "numéro de l'OIM au Maroc": the documents give no contact by country; say so first.
        reply.say("utter_no_contact_for_country", country=turn.country)
        _say_contacts(reply, kb, [], None, domain)
        return reply
    entry = kb.entry(turn.topic) if turn.topic else None
    contacts = contacts_for_entry(kb, entry)
    _say_missing_channels(reply, kb, contacts, turn.text)
    _say_contacts(reply, kb, contacts, entry, domain)
    return reply


def _say_missing_channels(reply: Reply, kb: KnowledgeBase, contacts: list[Contact], text: str) -> None:
    """"et leur numéro de téléphone ?" when the unit's card gives only an e-mail: the pages give
    none, said first (a hotline must not guess one)."""
    if not contacts:
        return
    for channel in kb.answering.channels_asked(text):
        if not any(getattr(contact, channel.field) for contact in contacts):
            reply.say("utter_contact_gap", missing=channel.missing)


def _clock(moment: time, domain: DomainDict) -> str:
    return response_text(domain, "utter_label_clock", hour=str(moment.hour), minute=f"{moment.minute:02d}")


def staff_hours_text(hours: StaffHours, domain: DomainDict) -> str:
    """'du lundi au vendredi de 9 h 00 à 17 h 00 (heure de Paris)'; "" when no hours are set."""
    parts = []
    for days, slots in hours.week():
        names = [WEEKDAYS[day] for day in days]
        when = (response_text(domain, "utter_label_one_day", day=names[0]) if len(names) == 1
                else response_text(domain, "utter_label_day_range", first=names[0], last=names[-1]))
        ranges = join_french([response_text(domain, "utter_label_time_range", start=_clock(start, domain),
                                            end=_clock(end, domain)) for start, end in slots], domain)
        parts.append(f"{when} {ranges}")
    if not parts:
        return ""
    return response_text(domain, "utter_label_zone", text=join_french(parts, domain), zone=hours.timezone_label)


def next_opening_text(hours: StaffHours, now: datetime, domain: DomainDict) -> str:
    """'lundi à 9 h 00 (heure de Paris)', 'aujourd'hui à …', 'demain à …'; "" when no hours are set."""
    opening = hours.next_opening(now)
    if opening is None:
        return ""
    days = (opening.date() - hours.local(now).date()).days
    day = {0: response_text(domain, "utter_label_today"), 1: response_text(domain, "utter_label_tomorrow")}.get(
        days, WEEKDAYS[opening.weekday()])
    at = response_text(domain, "utter_label_at", day=day, clock=_clock(opening.time(), domain))
    return response_text(domain, "utter_label_zone", text=at, zone=hours.timezone_label)


def _say_handoff_contact(reply: Reply, kb: KnowledgeBase, entry: Entry | None, domain: DomainDict) -> None:
    """Only the contact for the topic; without one, the general contact of data/knowledge/handoff.yml.

    Why: a person asking for a human is not helped by a press officer, an M&D unit and a UN fax in
    New York at once (issue 16); a subject's own contact (the UN's, for the UN's dialogues) only
    when the conversation is about it.
    """
    contacts = contacts_for_entry(kb, entry)
    if contacts and entry is not None:
        reply.say("utter_handoff_contact_intro", title=entry.title)
    else:
        general = kb.contacts_for()
        wanted = general_contact_id(kb.root)
        chosen = [contact for contact in general if contact.id == wanted]
        if not chosen:  # no general contact configured: every contact, as before
            _say_contacts(reply, kb, [], entry, domain)
            return
        contacts = chosen
        if entry is not None:
            reply.say("utter_handoff_general_contact_topic", title=entry.title)
        else:
            reply.say("utter_handoff_general_contact")
    for contact in contacts:
        reply.say("utter_contact_card", card=contact_card(contact, domain), sources=sources_line(kb, [contact.source]))


# A marker on the queued reply (Rasa "custom" payload): the web chat then watches for a staff reply.
HANDOFF_MARKER = {"handoff": "queued"}


def answer_handoff(
    kb: KnowledgeBase,
    turn: Turn,
    domain: DomainDict,
    hours: StaffHours | None = None,
    now: datetime | None = None,
) -> Reply:
    """Record the request for a human; when staff read the queue, say so and when, warn about
    personal data; then the one contact that fits. `hours` None: no queue (the settings are off)."""
    reply = Reply()
    reply.slots["handoff_requested"] = True
    if hours is not None and hours.queue:
        now = now or datetime.now(timezone.utc)
        schedule = staff_hours_text(hours, domain)
        if not schedule:
            reply.say("utter_handoff_queued")
        elif hours.is_open(now):
            reply.say("utter_handoff_queued_open", hours=schedule)
        else:
            reply.say("utter_handoff_queued_closed", hours=schedule,
                      next_opening=next_opening_text(hours, now, domain))
        reply.messages[-1]["json_message"] = dict(HANDOFF_MARKER)
        reply.say("utter_handoff_privacy")
    else:
        reply.say("utter_human_handoff")
    if turn.urgent:
        # "personne m'aide, je veux tout arrêter" after "je n'en peux plus": a person asked for in
        # distress hears the emergency advice again before any contact.
        reply.say("utter_handoff_urgent")
    entry = kb.entry(turn.topic) if turn.topic else None
    _say_handoff_contact(reply, kb, entry, domain)
    return reply


_SENTENCE_END = re.compile(r"(?<=[.!?…»])\s+")
_WORD = re.compile(r"\w{4,}")


def excerpt(text: str, query: str = "", limit: int = EXCERPT_CHARS) -> str:
    """The part of the passage that best matches the query, cut at sentence or word boundaries.

    Why: a long passage cut at its start often stops just before the sentence the user asked
    about; starting at the sentence sharing the most words with the question keeps it on screen.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    sentences = _SENTENCE_END.split(text)
    wanted = {w[:6] for w in _WORD.findall(fold(query))}

    def overlap(sentence: str) -> int:
        return len(wanted & {w[:6] for w in _WORD.findall(fold(sentence))})

    best = max(range(len(sentences)), key=lambda i: (overlap(sentences[i]), -i)) if wanted else 0
    start = best
    # Keep the sentence before when it fits: it usually carries the subject.
    if best > 0 and len(" ".join(sentences[best - 1 : best + 1])) <= limit:
        start = best - 1
    window = " ".join(sentences[start:])
    prefix = "… " if start > 0 else ""
    if len(window) <= limit:
        return prefix + window
    cut = window[:limit].rsplit(" ", 1)[0]
    return f"{prefix}{cut}…"


def _good_passage(kb: KnowledgeBase, text: str, min_score: float) -> SearchHit | None:
    """The best passage for the text if it is a good match (bot.knowledge.search.GOOD_SCORE), else None."""
    hits = kb.search(text, k=1) if text.strip() else []
    return hits[0] if hits and hits[0].score >= min_score else None


def _say_passage(reply: Reply, kb: KnowledgeBase, hit: SearchHit, query: str) -> None:
    """The closest passage, quoted; its entry becomes the conversation's topic, so that a follow-up
    ("c'était quel jour ?" after the passage on 2016) reads it."""
    reply.say(
        "utter_closest_passage",
        excerpt=excerpt(hit.text, query),
        sources=sources_line(kb, [hit.passage_id]),
    )
    entry = kb.entry_citing(hit.passage_id)
    if entry is not None:
        reply.slots["topic"] = entry.id


def answer_out_of_scope(kb: KnowledgeBase, turn: Turn, domain: DomainDict, min_score: float) -> Reply:
    """Out of scope, unless it is a follow-up that a passage of the current topic answers.

    Why: "c'est quoi les 3 premiers pays ?" is out of scope on its own, but right after the
    resettlement answer it asks about the passage that names them. Only a good match inside the
    topic's own passages counts, so "il fait beau ?" or "combien de pays en Afrique ?" after the
    same answer stay out of scope.
    """
    reply = Reply()
    entry = kb.entry(turn.topic) if turn.topic else None
    hit = _good_passage(kb, turn.text, min_score) if entry is not None else None
    if entry is not None and hit is not None and hit.passage_id in entry.sources:
        _say_passage(reply, kb, hit, turn.text)
    else:
        reply.say("utter_out_of_scope")
    return reply


def answer_fallback(kb: KnowledgeBase, turn: Turn, domain: DomainDict, min_score: float) -> Reply:
    """No intent fits: offer the closest passage only if search finds a good one, then contacts."""
    reply = Reply()
    hit = _good_passage(kb, turn.text, min_score)
    if hit is not None:
        _say_passage(reply, kb, hit, turn.text)
    else:
        reply.say("utter_no_information")
        # Nothing to say and no topic: the contacts the pages cite, one short line each (a phone
        # screen, not three full cards); "contacts" gives the cards.
        reply.say("utter_contacts_brief", lines="\n".join(f"• {contact_line(c)}" for c in kb.contacts_for()))
    return reply
