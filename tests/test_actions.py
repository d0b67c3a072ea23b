"""Action behaviour on the real knowledge files and the real domain texts (no server needed)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, focused
from actions.actions import ActionAnswerContact, ActionAnswerQuestion, ActionHumanHandoff, turn_from_tracker
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.paths import pages_dir, repo_root
from bot.knowledge.search import GOOD_SCORE
from bot.knowledge.textnorm import digits_only, fold

DOMAIN: dict[str, Any] = yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))
KNOWLEDGE_INTENTS = [i for i in DOMAIN["intents"] if i.startswith("ask_") and i not in (
    "ask_human", "ask_asylum_visa", "ask_capabilities", "ask_contact",
    "ask_programme_eligibility", "ask_how_to_apply",
)]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+\s?\d[\d\s.-]{6,}\d")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def pages_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(pages_dir().glob("*.txt")))


def render(reply: answers.Reply) -> str:
    """The texts a user would read, filled exactly as Rasa fills domain templates."""
    texts = []
    for message in reply.messages:
        variables = dict(message)
        template = DOMAIN["responses"][variables.pop("response")][0]["text"]
        texts.append(template.format(**variables))
    return "\n".join(texts)


def ask(kb: KnowledgeBase, intent: str, **fields: Any) -> tuple[answers.Reply, str]:
    reply = answers.answer_question(kb, answers.Turn(intent=intent, **fields), DOMAIN)
    return reply, render(reply)


@pytest.mark.parametrize("intent", KNOWLEDGE_INTENTS)
def test_every_knowledge_intent_has_a_sourced_answer(kb: KnowledgeBase, intent: str) -> None:
    reply, text = ask(kb, intent)
    assert "Source : " in text and text.split("Source : ")[1].strip(), text
    assert reply.slots["topic"] == kb.entry_for_intent(intent).id


def test_voluntary_return_names_libya_and_yemen(kb: KnowledgeBase) -> None:
    _, text = ask(kb, "ask_voluntary_return")
    assert "Libye" in text and "Yémen" in text


def test_a_refugee_who_wants_to_go_home_gets_the_repatriation(kb: KnowledgeBase) -> None:
    """"je suis réfugié au kenya" then "je veux rentrer": the page gives refugees the repatriation."""
    said = ("je suis réfugié au kenya", "je veux rentrer dans mon pays")
    reply, text = ask(kb, "ask_voluntary_return", said=said)
    assert reply.messages[0]["response"] == "utter_audience_redirect"
    assert reply.slots["topic"] == "programme.repatriation"
    assert "HCR" in text and "aux réfugiés" in text and "Source : " in text


@pytest.mark.parametrize(
    ("said", "programme"),
    [
        (("je ne suis pas réfugié", "je veux rentrer"), None),
        (("jsui refugier", "en fait non, pas refugier", "je veux rentrer"), None),
        (("je suis migrant", "je veux rentrer"), None),
        (("je suis réfugié", "et le retour volontaire ?"), "voluntary_return"),
    ],
)
def test_the_voluntary_return_stays_when_the_user_is_not_a_refugee_or_names_it(
    kb: KnowledgeBase, said: tuple[str, ...], programme: str | None
) -> None:
    reply, text = ask(kb, "ask_voluntary_return", said=said, programme=programme)
    assert reply.slots["topic"] == "programme.voluntary_return"
    assert "Libye" in text and "HCR" not in text


def test_follow_up_country_uses_the_current_topic(kb: KnowledgeBase) -> None:
    reply, text = ask(kb, "inform", country="yemen", topic="programme.voluntary_return")
    assert reply.messages[0]["response"] == "utter_country_mentioned"
    assert "Yémen" in text and "Source : " in text
    assert reply.slots["topic"] == "programme.voluntary_return"


def test_follow_up_with_a_country_the_documents_do_not_name(kb: KnowledgeBase) -> None:
    reply, text = ask(kb, "inform", country="Maroc", topic="programme.voluntary_return")
    assert reply.messages[0]["response"] == "utter_country_not_mentioned"
    assert "ne mentionnent pas ce pays (Maroc)" in text


def test_follow_up_programme_switches_topic(kb: KnowledgeBase) -> None:
    reply, text = ask(kb, "inform", programme="relocation", topic="programme.resettlement")
    assert reply.slots["topic"] == "programme.relocation"
    assert "UE" in text or "Union européenne" in text


@pytest.mark.parametrize("entry_id", ["programme.voluntary_return", "programme.resettlement"])
def test_eligibility_follow_up_answers_for_the_programme_in_context(kb: KnowledgeBase, entry_id: str) -> None:
    entry = kb.entry(entry_id)
    who = entry.aspect("who")
    assert who is not None, f"{entry_id} documents who can benefit (data/knowledge/entries)"
    reply, text = ask(kb, "ask_programme_eligibility", topic=entry.id, programme_slot=entry.programme)
    assert reply.messages[0]["response"] != "utter_aspect_unknown"
    assert fold(who.answer)[:40] in fold(text)
    assert reply.slots["topic"] == entry.id


def test_how_to_apply_with_a_documented_procedure_gives_it(kb: KnowledgeBase) -> None:
    entry = kb.entry("programme.voluntary_return")
    how = entry.aspect("how")
    assert how is not None, "the voluntary return page says how to ask for it"
    reply, text = ask(kb, "ask_how_to_apply", topic=entry.id)
    assert reply.messages[0]["response"] != "utter_aspect_unknown"
    assert fold(how.answer)[:40] in fold(text)


@pytest.mark.parametrize("entry_id", ["programme.resettlement", "programme.relocation"])
def test_how_to_apply_without_documented_procedure_says_so_and_gives_contacts(kb: KnowledgeBase,
                                                                             entry_id: str) -> None:
    assert kb.entry(entry_id).aspect("how") is None, f"{entry_id} now documents a procedure: pick another entry"
    reply, text = ask(kb, "ask_how_to_apply", topic=entry_id)
    responses = [m["response"] for m in reply.messages]
    assert responses[0] == "utter_aspect_unknown"
    assert "utter_contact_card" in responses
    assert "ne disent pas" in text


def test_aspect_question_without_context_asks_which_programme(kb: KnowledgeBase) -> None:
    reply, text = ask(kb, "ask_programme_eligibility")
    assert reply.messages[0]["response"] == "utter_which_programme"
    assert "Retour humanitaire volontaire" in text or "retour" in fold(text)


def test_contact_by_target(kb: KnowledgeBase) -> None:
    reply = answers.answer_contact(kb, answers.Turn(intent="ask_contact", contact_target="md_unit"), DOMAIN)
    text = render(reply)
    assert "migration4development@iom.int" in text
    assert "ldoyle@iom.int" not in text


def test_press_contact_gives_phone_and_email(kb: KnowledgeBase) -> None:
    reply = answers.answer_contact(kb, answers.Turn(intent="ask_contact", contact_target="press"), DOMAIN)
    text = render(reply)
    assert "+41 79 285 7123" in text and "ldoyle@iom.int" in text


def test_un_desa_contact_gives_fax_email_and_address(kb: KnowledgeBase) -> None:
    reply = answers.answer_contact(kb, answers.Turn(intent="ask_contact", contact_target="un_desa"), DOMAIN)
    text = render(reply)
    assert "migrationp@un.org" in text and "963-2147" in text and "New York" in text


def test_contact_follow_up_uses_topic(kb: KnowledgeBase) -> None:
    turn = answers.Turn(intent="ask_contact", topic="framework.migration_development")
    text = render(answers.answer_contact(kb, turn, DOMAIN))
    assert "migration4development@iom.int" in text


def test_fallback_without_a_good_passage_is_honest(kb: KnowledgeBase) -> None:
    turn = answers.Turn(intent="nlu_fallback", text="zzkq wxv plorp")
    reply = answers.answer_fallback(kb, turn, DOMAIN, min_score=GOOD_SCORE)
    assert reply.messages[0]["response"] == "utter_no_information"
    # Then the contacts the pages cite, one short line each (not three full cards on a phone).
    text = render(reply)
    assert [m["response"] for m in reply.messages] == ["utter_no_information", "utter_contacts_brief"]
    for email in ("migration4development@iom.int", "ldoyle@iom.int", "migrationp@un.org"):
        assert email in text
    assert "Télécopie" not in text and len(text.splitlines()) <= 6


def test_fallback_offers_the_closest_passage_with_its_source(kb: KnowledgeBase) -> None:
    turn = answers.Turn(intent="nlu_fallback", text="parrainage communautaire privé et bourses d'études")
    reply = answers.answer_fallback(kb, turn, DOMAIN, min_score=GOOD_SCORE)
    text = render(reply)
    assert reply.messages[0]["response"] == "utter_closest_passage", text
    assert "parrainage communautaire" in text and "Source : " in text
    # A passage is not an answer: the reply says so first and points to the contacts.
    assert text.startswith("Je n'ai pas d'information précise") and "contacts" in text


def test_out_of_scope_follow_up_answered_by_the_topics_own_passage(kb: KnowledgeBase) -> None:
    turn = answers.Turn(intent="out_of_scope", text="c'est quoi les 3 premiers pays ?", topic="programme.resettlement")
    reply = answers.answer_out_of_scope(kb, turn, DOMAIN, min_score=GOOD_SCORE)
    text = render(reply)
    assert reply.messages[0]["response"] == "utter_closest_passage", text
    assert all(country in text for country in ("Canada", "Australie", "États-Unis"))


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("il fait beau ?", "programme.resettlement"),
        ("combien de pays en afrique", "programme.resettlement"),  # a good passage, not the topic's
        ("c'est quoi les 3 premiers pays ?", None),  # no topic: nothing to follow up on
    ],
)
def test_out_of_scope_stays_out_of_scope(kb: KnowledgeBase, text: str, topic: str | None) -> None:
    turn = answers.Turn(intent="out_of_scope", text=text, topic=topic)
    reply = answers.answer_out_of_scope(kb, turn, DOMAIN, min_score=GOOD_SCORE)
    assert [m["response"] for m in reply.messages] == ["utter_out_of_scope"]


def test_excerpt_starts_near_the_sentence_the_question_is_about(kb: KnowledgeBase) -> None:
    passage = next(p for p in kb.passages() if "trois premiers pays de réinstallation" in p.text)
    text = answers.excerpt(passage.text, "quels sont les 3 premiers pays de réinstallation ?")
    assert "Canada" in text and len(text) <= answers.EXCERPT_CHARS + 2


def test_no_reply_ever_contains_an_email_or_phone_absent_from_the_pages(
    kb: KnowledgeBase, pages_text: str
) -> None:
    """Every composed reply, for every intent and context: contacts come from the pages only."""
    page_digits = digits_only(pages_text)
    texts = []
    for intent in [*KNOWLEDGE_INTENTS, "ask_programme_eligibility", "ask_how_to_apply", "inform"]:
        for entry in kb.entries():
            texts.append(ask(kb, intent, topic=entry.id, country="Libye")[1])
    for target in (None, "press", "md_unit", "un_desa"):
        texts.append(render(answers.answer_contact(kb, answers.Turn("ask_contact", contact_target=target), DOMAIN)))
    texts.append(render(answers.answer_handoff(kb, answers.Turn("ask_human"), DOMAIN)))
    # Not an empty check: the contact replies do give e-mails and phones.
    assert any(EMAIL.search(text) for text in texts) and any(PHONE.search(text) for text in texts)
    for text in texts:
        for email in EMAIL.findall(text):
            assert email in pages_text, email
        for phone in PHONE.findall(text):
            assert digits_only(phone) in page_digits, phone


def _tracker(
    intent: str,
    slots: dict[str, Any],
    entities: list[dict[str, Any]] | None = None,
    said: tuple[str, ...] = (),
    text: str = "x",
) -> Tracker:
    return Tracker(
        sender_id="test",
        slots=slots,
        latest_message={"intent": {"name": intent}, "entities": entities or [], "text": text},
        events=[{"event": "user", "text": text} for text in said],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_the_turn_keeps_a_country_as_the_message_writes_it(kb: KnowledgeBase) -> None:
    """The entity's value is the long name ("États-Unis d'Amérique"); the answer also needs the words
    typed ("États-Unis"), which a sentence must hold."""
    text = "combien de réfugiés réinstallés aux États-Unis en 2019 ?"
    start = text.index("États-Unis")
    entities = [{"entity": "country", "value": "États-Unis d'Amérique", "start": start, "end": start + 10}]
    turn = turn_from_tracker(_tracker("ask_resettlement", {"topic": None}, entities=entities, text=text), kb)
    assert (turn.country, turn.country_said) == ("États-Unis d'Amérique", "États-Unis")
    assert turn_from_tracker(_tracker("ask_resettlement", {"topic": None}, text=text), kb).country_said is None


STORY_THEN_POINTER = ("bonjour, j'ai lu un long article sur le retour humanitaire volontaire, mon cousin est coincé "
                      "là-bas depuis deux ans et il souffre beaucoup, on est tous inquiets, bref ma question c'est : "
                      "ça se passe comment pour en bénéficier ?")


def test_the_story_around_a_question_reaches_the_answer(kb: KnowledgeBase) -> None:
    """The NLU reads the question alone ("ça se passe comment pour en bénéficier ?"); the user event
    keeps the story, which names what "en" points to: the voluntary return, not "which help?"."""
    question = "ça se passe comment pour en bénéficier ?"
    tracker = _tracker("ask_programme_eligibility", {"topic": None}, said=(STORY_THEN_POINTER,), text=question)
    turn = turn_from_tracker(tracker, kb)
    assert turn.full_text == STORY_THEN_POINTER
    reply = focused.respond(kb, turn, DOMAIN)
    assert reply.slots.get("topic") == "programme.voluntary_return", reply
    plain = _tracker("ask_programme_eligibility", {"topic": None}, said=(question,), text=question)
    assert turn_from_tracker(plain, kb).full_text == ""


async def test_rasa_action_sets_topic_and_utters_template() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerQuestion().run(
        dispatcher, _tracker("ask_resettlement", {"topic": None, "programme": None}), DOMAIN
    )
    assert dispatcher.messages[0]["response"] == "utter_knowledge_answer"
    assert {"event": "slot", "name": "topic", "value": "programme.resettlement", "timestamp": None} in events


async def test_rasa_action_reads_what_the_user_said_earlier_from_the_events() -> None:
    dispatcher = CollectingDispatcher()
    said = ("bonjour", "je suis réfugiée au Kenya", "je veux rentrer")
    tracker = _tracker("ask_voluntary_return", {"topic": None, "programme": None}, said=said)
    events = await ActionAnswerQuestion().run(dispatcher, tracker, DOMAIN)
    assert [m["response"] for m in dispatcher.messages][:2] == ["utter_audience_redirect", "utter_knowledge_answer"]
    assert {"event": "slot", "name": "topic", "value": "programme.repatriation", "timestamp": None} in events


async def test_rasa_action_prefers_the_entity_value_the_knowledge_knows() -> None:
    # What the entity tagger gives for "numéro de la presse ... du" : a stray tag after the real one.
    entities = [
        {"entity": "contact_target", "value": "press"},
        {"entity": "contact_target", "value": "du"},
    ]
    dispatcher = CollectingDispatcher()
    tracker = _tracker("ask_contact", {"topic": None}, entities=entities)
    events = await ActionAnswerContact().run(dispatcher, tracker, DOMAIN)
    assert {"event": "slot", "name": "contact_target", "value": "press", "timestamp": None} in events
    assert dispatcher.messages[0]["response"] == "utter_contact_intro"


async def test_handoff_action_records_the_request() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionHumanHandoff().run(dispatcher, _tracker("ask_human", {"topic": None}), DOMAIN)
    assert any(e.get("name") == "handoff_requested" and e.get("value") is True for e in events)
    assert dispatcher.messages[0]["response"] == "utter_human_handoff"


@pytest.mark.parametrize(
    ("text", "handed_off"),
    [
        ("est-ce vrai qu'une personne sur sept est un migrant ?", False),  # a question on the pages
        ("je veux parler à une personne", True),
        ("est-ce que je peux parler à une personne pour le retour volontaire ?", True),
        ("une personne svp", True),
    ],
)
async def test_a_page_question_read_as_asking_for_a_person_is_answered_from_the_pages(text: str, handed_off: bool) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionHumanHandoff().run(dispatcher, _tracker("ask_human", {"topic": None}, text=text, said=(text,)), DOMAIN)
    assert any(e.get("name") == "handoff_requested" and e.get("value") is True for e in events) == handed_off
    if not handed_off:
        assert "une personne sur sept" in str(dispatcher.messages)
