"""The maintainers' inbox: which messages are collected, redaction, grouping, retention, and the two writers.

Pure functions over serialised Rasa events (the dicts `event.as_dict()` gives, as the store returns
them); the writers run on a copy of the project's own files (never on the real data/ or tests/).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.knowledge.paths import repo_root
from bot.maintenance.gates import load_gate_config
from bot.maintenance.prechecks import check_training_data, nlu_example_counts
from bot.maintenance.qa_set import load_items
from bot.serving import inbox
from bot.serving.inbox_files import (
    NLU_FILE,
    QA_FILE,
    InboxWriteError,
    add_nlu_example,
    add_qa_case,
    example_text,
)

NOW = 1_800_000_000.0
DAY = 86400.0
PHONE = "+41 79 285 71 23"
EMAIL = "amina.diallo@example.org"


def user(text: str, at: float, intent: str = "ask_iom_identity", confidence: float | None = 0.95) -> dict:
    return {"event": "user", "text": text, "timestamp": at,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}}}


def bot(text: str, at: float) -> dict:
    return {"event": "bot", "text": text, "timestamp": at}


def feedback(value: str, at: float) -> dict:
    return {"event": "slot", "name": "feedback", "value": value, "timestamp": at}


# --- collect ---------------------------------------------------------------------------------

def test_collects_fallbacks_low_confidence_and_the_message_judged_pas_utile() -> None:
    events = [
        user("bonjour", NOW - 50, "greet", 0.99),
        bot("Bonjour !", NOW - 49),
        user("kel prix pour le bateau", NOW - 40, "nlu_fallback", 0.3),
        bot("Je n'ai pas cette information.", NOW - 39),
        user("c quoi le truc pour rentrer", NOW - 30, "ask_voluntary_return", 0.62),
        bot("Le retour volontaire...", NOW - 29),
        user("et pour la libye", NOW - 20, "inform", 0.93),
        bot("En Libye...", NOW - 19),
        feedback("pas_utile", NOW - 10),
        user("merci", NOW - 5, "thanks", 0.99),
        feedback("utile", NOW - 1),
    ]
    found = inbox.collect("web-abc123", events, min_confidence=0.7)
    assert [(m.text, m.reasons) for m in found] == [
        ("kel prix pour le bateau", ("fallback",)),
        ("c quoi le truc pour rentrer", ("low_confidence",)),
        ("et pour la libye", ("negative_feedback",)),
    ]
    assert found[1].intent == "ask_voluntary_return" and found[1].confidence == pytest.approx(0.62)
    # A higher threshold lists more; a fallback that was also judged "pas utile" has both reasons.
    stricter = inbox.collect("s", events, min_confidence=0.95)
    assert stricter[-1].reasons == ("low_confidence", "negative_feedback")
    assert len(inbox.collect("s", events, min_confidence=0.995)) == 5  # "bonjour" and "merci" (0.99) too
    both = inbox.collect("s", [user("hein", NOW, "nlu_fallback", 0.2), feedback("pas_utile", NOW + 1)])
    assert both[0].reasons == ("fallback", "negative_feedback")


def test_commands_and_staff_test_conversations_are_left_out() -> None:
    events = [user("/restart", NOW, "restart", 1.0), user("??", NOW + 1, "nlu_fallback", 0.1)]
    assert [m.text for m in inbox.collect("web-x", events)] == ["??"]
    assert inbox.collect("staff-ask-1234", events) == []


def test_no_phone_number_or_email_leaves_the_inbox() -> None:
    events = [user(f"rappelez moi au {PHONE} ou {EMAIL}\x07", NOW, "nlu_fallback", 0.1)]
    sender = "whatsapp:+41792857123"  # a WhatsApp conversation id is the person's number
    found = inbox.collect(sender, events)
    assert found[0].text == "rappelez moi au [téléphone] ou [courriel]"
    assert "792857123" not in found[0].sender_id and found[0].sender_id == "whatsapp:[téléphone]"
    dumped = str(inbox.build([(sender, events)], retention_days=0).as_json())
    assert "285 71 23" not in dumped and "792857123" not in dumped and EMAIL not in dumped
    assert not inbox.linkable_sender(found[0].sender_id)
    assert inbox.linkable_sender("web-3f9a2c71be4d")


# --- retention -------------------------------------------------------------------------------

def test_messages_older_than_the_retention_period_are_dropped() -> None:
    conversations = [
        ("old", [user("vieux message pas compris", NOW - 31 * DAY, "nlu_fallback", 0.1)]),
        ("new", [user("nouveau message pas compris", NOW - 29 * DAY, "nlu_fallback", 0.1)]),
    ]
    kept = inbox.build(conversations, retention_days=30, now=NOW)
    assert [line.text for line in kept.lines] == ["nouveau message pas compris"]
    assert kept.scanned == 2 and kept.messages == 1
    everything = inbox.build(conversations, retention_days=0, now=NOW)  # 0 = purge off: keep all
    assert everything.messages == 2


# --- grouping --------------------------------------------------------------------------------

ASKED = {
    "price": ["combien coute le billet d'avion", "le billet d avion coute combien ?", "Combien coûte le billet d'avion",
              "combien coute le billet davion svp"],
    "office": ["ou est le bureau de l'oim a dakar", "adresse du bureau oim dakar", "bureau oim a dakar ?"],
    "passport": ["je veux un passeport", "comment avoir un passeport"],
    "alone": ["bonjour"],
}


def _conversations() -> list[tuple[str, list[dict]]]:
    conversations = []
    at = NOW - 1000
    for topic, texts in ASKED.items():
        for number, text in enumerate(texts):
            at += 10
            conversations.append((f"web-{topic}-{number}", [user(text, at, "nlu_fallback", 0.2)]))
    return conversations


def test_the_same_question_asked_several_ways_is_one_line_with_a_count() -> None:
    result = inbox.build(_conversations(), retention_days=0)
    lines = {frozenset(text for text, _ in line.variants): line for line in result.lines}
    price = next(line for variants, line in lines.items() if "combien coute le billet d'avion" in variants
                 or "Combien coûte le billet d'avion" in variants)
    assert price.count == 4 and price.conversations == 4
    # Two spellings of the same words are one phrasing (the most recent spelling shown), counted twice.
    assert sorted(count for _, count in price.variants) == [1, 1, 2]
    office = next(line for line in result.lines if "dakar" in line.text)
    assert office.count == 3
    assert len(result.lines) == 4, [line.variants for line in result.lines]
    assert [line.count for line in result.lines] == [4, 3, 2, 1]  # most asked first
    assert price.senders == ["web-price-3", "web-price-2", "web-price-1"]  # a few, most recent first
    assert price.reasons == {"fallback": 4}
    assert price.intents == [("nlu_fallback", 4)]
    assert price.last_seen > price.first_seen


def test_grouping_is_deterministic_and_keys_are_stable() -> None:
    first = inbox.build(_conversations(), retention_days=0)
    again = inbox.build(list(reversed(_conversations())), retention_days=0)
    assert [line.as_json() for line in first.lines] == [line.as_json() for line in again.lines]
    assert first.find(first.lines[0].key) is first.lines[0]
    assert inbox.line_key("C koi l'OIM ?") == inbox.line_key("c koi l oim")
    assert inbox.line_key("c koi l'oim") != inbox.line_key("c koi le hcr")


def test_a_strict_similarity_keeps_apart_all_but_the_same_words_in_another_order() -> None:
    result = inbox.build(_conversations(), retention_days=0, similarity=0.99)
    phrasings = {inbox.normalised(t) for texts in ASKED.values() for t in texts}
    assert len(result.lines) == len(phrasings) - 1
    merged = next(line for line in result.lines if line.count == 3)
    assert {inbox.normalised(text) for text, _ in merged.variants} == {
        "combien coute le billet d avion", "le billet d avion coute combien"}


# --- writers ---------------------------------------------------------------------------------

@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The files the writers read and write, copied from the project."""
    root = repo_root()
    for name in ("domain.yml", "gates.yml", "tests/nlu_holdout.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, tmp_path / name)
    for folder in ("data/nlu", "data/pages", "tests/qa"):
        shutil.copytree(root / folder, tmp_path / folder)
    return tmp_path


def test_add_nlu_writes_the_redacted_text_as_a_valid_rasa_example(project: Path) -> None:
    before = nlu_example_counts(project)
    result = add_nlu_example(project, f"kel numero pour l'oim a dakar ? moi c {PHONE}", "ask_contact")
    assert result.written and result.text == "kel numero pour l'oim a dakar ? moi c [téléphone]"
    content = (project / NLU_FILE).read_text(encoding="utf-8")
    assert content.startswith("# NLU examples added from the maintainers' inbox")
    assert PHONE not in content
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    examples = RasaYAMLReader().read(project / NLU_FILE).intent_examples
    assert [(m.get("intent"), m.get("text"), m.get("entities")) for m in examples] == [
        ("ask_contact", result.text, None)]
    assert nlu_example_counts(project)["ask_contact"] == before["ask_contact"] + 1
    verdict = check_training_data(project, load_gate_config(repo_root()))  # the update's first gate
    assert verdict.status == "pass", verdict.problems
    # A second example of another intent joins the same file; the first one stays.
    add_nlu_example(project, "le bateau coute combien", "ask_movement_assistance")
    data = yaml.safe_load((project / NLU_FILE).read_text(encoding="utf-8"))
    assert [block["intent"] for block in data["nlu"]] == ["ask_contact", "ask_movement_assistance"]


def test_add_nlu_refuses_unknown_intents_and_duplicates(project: Path) -> None:
    with pytest.raises(InboxWriteError, match="unknown intent"):
        add_nlu_example(project, "un message", "ask_lottery")
    with pytest.raises(InboxWriteError, match="unknown intent"):
        add_nlu_example(project, "un message", "nlu_fallback")
    # Already an example of another intent (data/nlu/chitchat.yml): a contradiction, refused.
    with pytest.raises(InboxWriteError, match="already an example of the intent greet"):
        add_nlu_example(project, "Bonjour", "ask_contact")
    with pytest.raises(InboxWriteError, match="held-out message"):  # tests/test_gates.py forbids it too
        add_nlu_example(project, "salut tlm", "greet")
    assert not (project / NLU_FILE).exists()
    first = add_nlu_example(project, "kesako l'oim", "ask_iom_identity")
    again = add_nlu_example(project, "KESAKO l’OIM", "ask_iom_identity")
    assert first.written and not again.written
    assert (project / NLU_FILE).read_text(encoding="utf-8").count("kesako") == 1


def test_add_nlu_never_writes_an_entity_annotation() -> None:
    assert example_text("je viens du [Mali](country)") == "je viens du [Mali] (country)"
    assert example_text("code {x}  [a]{\"entity\": \"b\"}\n suite") == 'code {x} [a] {"entity": "b"} suite'


def test_add_qa_appends_a_case_the_qa_set_loads(project: Path) -> None:
    before = load_items(project / QA_FILE)
    result = add_qa_case(project, f"le billet d'avion coute combien ? ecrivez a {EMAIL}", category="gap",
                         expect_any=["pas cette information", "ne précisent pas"], forbid=["euros"],
                         validate=load_items)
    items = load_items(project / QA_FILE)
    assert len(items) == len(before) + 1
    new = items[-1]
    assert (new.id, new.category, new.turns) == ("inbox-01", "gap", ["le billet d'avion coute combien ? ecrivez a [courriel]"])
    assert (new.expect_all, new.expect_any, new.forbid) == ([], ["pas cette information", "ne précisent pas"], ["euros"])
    assert result.detail == "inbox-01"
    assert EMAIL not in (project / QA_FILE).read_text(encoding="utf-8")
    # The file's comments and items before are untouched: the new item is appended.
    assert (project / QA_FILE).read_text(encoding="utf-8").startswith((repo_root() / QA_FILE).read_text(encoding="utf-8"))
    second = add_qa_case(project, "l'oim a été créée en quelle année", category="detail", expect_all=["1951"],
                         source="000_4e3b28ff622e0c7b.txt", validate=load_items)
    assert second.detail == "inbox-02" and load_items(project / QA_FILE)[-1].source == "000_4e3b28ff622e0c7b.txt"


@pytest.mark.parametrize(("fields", "message"), [
    ({"category": "gap"}, "give the expected answer"),
    ({"category": "other", "expect_any": ["x"]}, "category"),
    ({"category": "detail", "expect_all": ["1952 exactement"], "source": "000_4e3b28ff622e0c7b.txt"}, "verbatim"),
    ({"category": "detail", "expect_all": ["1951"], "source": "../../etc/passwd"}, "no such page"),
    ({"category": "gap", "expect_any": ["x"], "item_id": "identity-01"}, "already used"),
    ({"category": "gap", "expect_any": ["x"], "item_id": "Pas Un Id"}, "id"),
])
def test_add_qa_refuses_invalid_cases(project: Path, fields: dict, message: str) -> None:
    before = (project / QA_FILE).read_bytes()
    with pytest.raises(InboxWriteError, match=message):
        add_qa_case(project, "une question", validate=load_items, **fields)
    assert (project / QA_FILE).read_bytes() == before


def test_add_qa_refuses_a_question_already_in_the_set(project: Path) -> None:
    with pytest.raises(InboxWriteError, match="already the QA item identity-01"):
        add_qa_case(project, "C koi l'OIM ?", category="topic", expect_all=["1951"])


# --- command line ------------------------------------------------------------------------------

def test_cli_lists_an_empty_store_and_adds_an_nlu_example(project: Path, tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    env_cmd = [sys.executable, "-m", "bot", "inbox"]
    listed = subprocess.run([*env_cmd, "list", "--endpoints", str(endpoints)], capture_output=True, text=True,
                            cwd=repo_root(), env=_env())
    assert listed.returncode == 0, listed.stderr
    assert "0 line(s), 0 message(s) in 0 conversation(s)" in listed.stdout
    added = subprocess.run([*env_cmd, "add-nlu", "--text", "c koi le truc pour rentrer", "--intent",
                            "ask_voluntary_return", "--project", str(project)],
                           capture_output=True, text=True, cwd=repo_root(), env=_env())
    assert added.returncode == 0, added.stderr
    assert "c koi le truc pour rentrer" in (project / NLU_FILE).read_text(encoding="utf-8")
    refused = subprocess.run([*env_cmd, "add-nlu", "--text", "x", "--intent", "nope", "--project", str(project)],
                             capture_output=True, text=True, cwd=repo_root(), env=_env())
    assert refused.returncode == 2 and "unknown intent 'nope'" in refused.stderr


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("OIM_")}
    env.update(RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=str(repo_root()))
    return env
