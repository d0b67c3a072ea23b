"""Ask as the caller: what the assistant would answer a question, and the evidence behind it.

Why: a staff member on the phone needs the reply the assistant gives, word for word, and the
sentences of the pages to quote. The reply is not re-computed here: the question (and the turns
before it) go to Rasa's REST channel through the same RasaClient as the web chat, on a throw-away
conversation id (`staff-ask-<uuid>`), so Rasa's NLU, rules and the action server answer. The
evidence (ranked sentences with page, section and passage id), the "not in the documents" parts of
the reply and the relevant contacts come from bot.knowledge, the same files the actions read. When
the tracker store holds the throw-away conversation, its `topic` slot (the entry answered) puts that
entry's sentences first, as the action does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge.question_analysis import analyse
from bot.knowledge.sentence_search import sentence_index
from bot.knowledge.textnorm import fold
from bot.serving.web.conversations import STAFF_ASK_PREFIX
from bot.serving.web.staff_data import contact_dict

SENDER_PREFIX = STAFF_ASK_PREFIX  # kept out of the handoff list
MAX_PREVIOUS_TURNS = 5
EVIDENCE_COUNT = 5
TOPIC_SLOT = "topic"

# The reply's sentences saying the documents do not hold something (domain.yml: utter_gap_*,
# utter_no_information, utter_aspect_unknown, utter_closest_passage, utter_no_*contact*...).
_GAP = re.compile(
    r"ne (?:precisent|disent|mentionnent|donnent|citent) pas|n'ai pas (?:cette|d')information|"
    r"pas d'information precise|ne la donnent pas"
)
_SENTENCE = re.compile(r"(?<=[.!?…:])\s+|\n+")


def new_sender() -> str:
    """A conversation id nobody else uses (the REST channel accepts any string)."""
    return SENDER_PREFIX + uuid.uuid4().hex


def previous_turns(text: str) -> list[str]:
    """The caller's earlier messages, one per line, blank lines dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class AskResult:
    question: str
    previous: list[str]
    sender: str
    replies: list[str]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    topic: str = ""
    knowledge_error: str = ""

    @property
    def reply_text(self) -> str:
        return "\n\n".join(self.replies)

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "previous": self.previous,
            "conversation_id": self.sender,
            "reply": self.reply_text,
            "messages": [{"text": text} for text in self.replies],
            "topic": self.topic or None,
            "evidence": self.evidence,
            "not_in_documents": self.gaps,
            "contacts": self.contacts,
            "knowledge_error": self.knowledge_error or None,
        }


def topic_of(events: list[dict[str, Any]] | None) -> str:
    """The last value of the `topic` slot in a conversation's events ("" when none)."""
    topic = ""
    for event in events or []:
        if event.get("event") == "slot" and event.get("name") == TOPIC_SLOT:
            topic = str(event.get("value") or "")
    return topic


def gap_sentences(replies: list[str]) -> list[str]:
    """The sentences of the reply that say the documents do not hold something."""
    found: list[str] = []
    for reply in replies:
        for sentence in _SENTENCE.split(reply):
            sentence = sentence.strip()
            if sentence and _GAP.search(fold(sentence)) and sentence not in found:
                found.append(sentence)
    return found


def evidence_for(kb: Any, question: str, replies: list[str], topic: str = "",
                 k: int = EVIDENCE_COUNT) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ranked sentences of the pages for the question (those the reply quotes first) and the
    contacts of the topic, or of the entries citing the evidence passages (blocking: spaCy)."""
    entry = kb.entry(topic) if topic else None
    index = sentence_index(kb)
    kind = analyse(kb.answering, question).evidence
    reply = fold(" ".join(replies))
    facts = _topic_facts(entry)
    evidence = []
    for hit in index.rank(question, entry, kind, k=k):
        if hit.score <= 0:
            continue
        unit = hit.unit
        passage = kb.passage(unit.passage_id)
        text = fold(unit.text)
        fact = next((f for f in facts if fold(f.quote) in text or text in fold(f.quote)), None)
        evidence.append({
            "sentence_id": unit.id,
            "passage_id": unit.passage_id,
            "page": passage.source_file if passage else "",
            "page_title": kb.source_title(unit.passage_id),
            "section": unit.section or "",
            "text": unit.text,
            "score": round(float(hit.score), 4),
            "in_topic": hit.in_topic,
            # The reply quotes it, or it is a fact of the entry the assistant answered from.
            "supports_reply": text in reply or (fact is not None and fact.current is not False),
            # A figure the pages give but that is not today's (fact marked `current: false`).
            "outdated": fact is not None and fact.current is False,
        })
    evidence.sort(key=lambda e: (not e["supports_reply"], e["outdated"]))  # stable: ranking kept within
    return evidence, _contacts(kb, entry, evidence)


def _topic_facts(entry: Any) -> list[Any]:
    if entry is None:
        return []
    return [*entry.facts, *(f for aspect in entry.aspects.values() for f in aspect.facts)]


def _contacts(kb: Any, entry: Any, evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if entry is not None:
        contacts = kb.contacts_for(entry_id=entry.id)
    else:
        passages = {e["passage_id"] for e in evidence[:2]}
        contacts = []
        for candidate in kb.entries():
            if passages & set(candidate.sources):
                contacts += [c for c in kb.contacts_for(entry_id=candidate.id) if c not in contacts]
    return [contact_dict(c, kb) for c in contacts]
