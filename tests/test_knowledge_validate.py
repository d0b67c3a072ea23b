"""Validation of the knowledge files and the KnowledgeBase interface used by the actions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge import paths
from bot.knowledge.knowledge_base import Aspect, Entry, KnowledgeBase, KnowledgeError
from bot.knowledge.validate import validate_dir

KNOWLEDGE = paths.knowledge_dir()
REPO = paths.repo_root()
PROGRAMMES = (
    "movement_assistance", "health_integration", "evacuation", "voluntary_return", "repatriation",
    "stranded_migrants", "resettlement", "relocation", "complementary_pathways",
)  # fmt: skip


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _tampered(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the knowledge folder where `old` is replaced by `new` (once) in `file`."""
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, copy)
    target = copy / file
    text = target.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {file}"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def _messages(root: Path, pages: Path | None = None) -> list[str]:
    return [str(problem) for problem in validate_dir(root, pages)]


def test_committed_knowledge_is_valid_and_matches_the_pages() -> None:
    assert _messages(KNOWLEDGE, paths.pages_dir()) == []


def test_validation_fails_without_the_pages(tmp_path: Path) -> None:
    """A missing or empty pages folder, or a missing page, is a problem: never a silent pass."""
    missing = tmp_path / "missing"
    assert _messages(KNOWLEDGE, missing) == [
        f"{missing}: pages folder not found: the source pages must be there"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _messages(KNOWLEDGE, empty) == [f"{empty}: no page (*.txt) in the pages folder"]
    partial = tmp_path / "partial"
    shutil.copytree(paths.pages_dir(), partial)
    (partial / "003_f92822551191ed11.txt").unlink()
    assert _messages(KNOWLEDGE, partial) == [
        f"passages/003_f92822551191ed11.yml: source page 003_f92822551191ed11.txt not found in {partial}"
    ]


def test_validate_command_fails_on_a_changed_quote_naming_file_and_entry(tmp_path: Path) -> None:
    copy = _tampered(
        tmp_path, "entries/programmes.yml",
        "depuis la Libye et le Yémen vers leur pays d'origine par le biais",
        "depuis la Libye, le Yémen et la Tunisie vers leur pays d'origine par le biais",
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(copy)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert (
        "entries/programmes.yml: programme.voluntary_return: fact 'Pays de départ': "
        "quote not found in passage 002_e7c62706a1bc81c1.p007" in result.stderr
    )
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(KNOWLEDGE)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr


def test_knowledge_base_refuses_to_load_invalid_knowledge(tmp_path: Path) -> None:
    copy = _tampered(tmp_path, "entries/organisation.yml", 'quote: "composée de 175 Etats membres"',
                     'quote: "composée de 176 Etats membres"')  # fmt: skip
    with pytest.raises(KnowledgeError) as error:
        KnowledgeBase.load(copy)
    assert any(
        p.entry == "org.member_states" and "quote not found" in p.message for p in error.value.problems
    )
    with pytest.raises(KnowledgeError):
        KnowledgeBase.load(tmp_path / "missing")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("plus de 400 structures hors siège", "plus de 500 structures hors siège",
         "org.presence: answer: number 500 appears in none of its quotes"),
        ("Son siège est à Genève.", "Son siège est à Genève (info@oim.example.org).",
         "org.presence: answer: e-mail info@oim.example.org appears in none of its quotes or contacts"),
        ("Son siège est à Genève.", "Son siège est à Genève, tél. +41 00 000 0000.",
         "org.presence: answer: phone +41 00 000 0000 appears in none of its quotes or contacts"),
        ("Son siège est à Genève.", "Son siège est à Genève depuis douze ans.",
         "org.presence: answer: number word 'douze' appears in none of its quotes"),
        ("        current: true\n      - label: Pays de présence", "      - label: Pays de présence",
         "org.presence: facts 'Pays de présence' disagree (171 / plus de 100): mark exactly one `current: true`"),
        ("source: 000_4e3b28ff622e0c7b.p007\n      - label: Siège", "source: 000_4e3b28ff622e0c7b.p099\n      - label: Siège",
         "org.presence: fact 'Personnel sur le terrain': source '000_4e3b28ff622e0c7b.p099' is not a passage id"),
        ("  - id: org.leadership", "  - id: org.presence",
         "org.presence: duplicate entry id"),
        ("value: Liban\n", "value: Liban 2024\n",
         "org.member_states: fact 'Nouvelle adhésion acceptée' value: number 2024 appears in none of its quotes"),
    ],
)  # fmt: skip
def test_validation_catches_what_could_slip_into_an_answer(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    copy = _tampered(tmp_path, "entries/organisation.yml", old, new)
    messages = _messages(copy)
    assert any(expected in message for message in messages), messages
    assert all(message.startswith("entries/organisation.yml: ") for message in messages)


def test_validation_of_references_and_contacts(tmp_path: Path) -> None:
    dangling = _tampered(
        tmp_path / "a", "entries/events.yml", "contacts: [contact.press]", "contacts: [contact.nobody]"
    )
    assert (
        "entries/events.yml: event.council_110: contact 'contact.nobody' does not exist in contacts.yml "
        "(dangling reference)" in _messages(dangling)
    )
    wrong_email = _tampered(tmp_path / "b", "contacts.yml", "- ldoyle@iom.int", "- ldoyle@iom.org")
    messages = _messages(wrong_email)
    assert "contacts.yml: contact.press: emails: 'ldoyle@iom.org' is not written in the quote" in messages
    assert any("ldoyle@iom.int (in 001_98e9420aea1512b1.p008) is missing" in m for m in messages)
    country = _tampered(tmp_path / "c", "entries/programmes.yml", "      Libye:\n", "      Tunisie:\n")
    assert any("programme.voluntary_return: country Tunisie: the quote does not name Tunisie" in m
               for m in _messages(country))  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("general_contact: contact.press", "general_contact: contact.nobody",
         "handoff.yml: contact.nobody: general_contact 'contact.nobody' does not exist in contacts.yml "
         "(dangling reference)"),
        ("general_contact: contact.press", "general_contact: 3",
         "handoff.yml: handoff: `general_contact` has the wrong type (int)"),
        ("general_contact: contact.press", "general_contact: [contact.press]",
         "handoff.yml: handoff: `general_contact` has the wrong type (list)"),
        ("general_contact: contact.press", "general_contact: contact.press\nphone: 112",
         "handoff.yml: handoff: unknown field `phone`"),
        ("source: 001_98e9420aea1512b1.p008\n", "",
         "handoff.yml: handoff: missing `source`"),
        ("version: 1", "version: 2", "handoff.yml: version must be 1, got 2"),
        ("de l'OIM à Genève\"\nsource", "de l'OIM à New York\"\nsource",
         "handoff.yml: contact.press: general_contact: quote not found in passage 001_98e9420aea1512b1.p008"),
        ("general_contact: contact.press", "general_contact: contact.md_unit",
         "handoff.yml: contact.md_unit: the quote must name the general contact (its name, e-mail or phone)"),
        ("general_contact: contact.press", "general_contact: contact.press\nnlu:",
         "handoff.yml: line 9 starts with a Rasa key"),
    ],
)  # fmt: skip
def test_a_broken_handoff_file_fails_validation_naming_the_file(tmp_path: Path, old: str, new: str,
                                                                 expected: str) -> None:
    """data/knowledge/handoff.yml is checked like the other knowledge files: schema, reference, quote."""
    copy = _tampered(tmp_path, "handoff.yml", old, new)
    messages = _messages(copy)
    assert any(message.startswith(expected) for message in messages), messages
    assert all(message.startswith("handoff.yml: ") for message in messages), messages


def test_the_validate_command_and_the_loader_refuse_a_broken_handoff_file(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    from bot.knowledge.files import HandoffRecord, load_handoff
    from bot.knowledge.handoff_hours import general_contact_id

    record = load_handoff(KNOWLEDGE)  # the schema the validator uses is the one the actions read through
    assert isinstance(record, HandoffRecord) and record.general_contact == general_contact_id() == "contact.press"
    copy = _tampered(tmp_path, "handoff.yml", "general_contact: contact.press", "general_contact: contact.nobody")
    result = subprocess.run([sys.executable, "-m", "bot", "validate", str(copy)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert "handoff.yml: contact.nobody: general_contact 'contact.nobody' does not exist in contacts.yml" in result.stderr
    with pytest.raises(KnowledgeError) as error:
        KnowledgeBase.load(copy)
    assert any(p.file == "handoff.yml" for p in error.value.problems)
    wrong_type = _tampered(tmp_path / "b", "handoff.yml", "general_contact: contact.press", "general_contact: 3")
    with pytest.raises(ValueError, match=r"handoff.yml: handoff: `general_contact` has the wrong type \(int\)"):
        load_handoff(wrong_type)
    with caplog.at_level("WARNING", logger="bot.knowledge.handoff_hours"):
        assert general_contact_id(wrong_type) is None  # the reply then gives every contact, as before
    assert "handoff.yml" in caplog.text
    (wrong_type / "handoff.yml").unlink()
    assert load_handoff(wrong_type) is None and _messages(wrong_type) == []  # optional, as before


def test_validation_of_audience_redirects(tmp_path: Path) -> None:
    """An audience must point to another entry and quote, verbatim, a passage using its words."""
    redirect = "answer_with: programme.repatriation"
    dangling = _tampered(tmp_path / "a", "entries/programmes.yml", redirect, "answer_with: programme.nowhere")
    assert any(
        "programme.voluntary_return: audience: answer_with 'programme.nowhere' is not another entry" in m
        for m in _messages(dangling)
    )
    quote = 'quote: "L\'OIM fournit une aide au rapatriement volontaire aux réfugiés"'
    without_the_word = 'quote: "L\'OIM fournit une aide au rapatriement volontaire"'
    unrelated = _tampered(tmp_path / "b", "entries/programmes.yml", quote, without_the_word)
    expected = "audience réfugié(e): the quote uses none of the words in `said`"
    assert any(expected in m for m in _messages(unrelated))
    invented = _tampered(tmp_path / "c", "entries/programmes.yml", quote, 'quote: "L\'OIM rapatrie tous les réfugiés"')
    assert any("audience: quote not found in passage" in m for m in _messages(invented))


def test_validation_against_the_pages_detects_edited_passages(tmp_path: Path) -> None:
    copy = _tampered(
        tmp_path,
        "passages/002_e7c62706a1bc81c1.yml",
        "plus de 118 000 personnes",
        "plus de 218 000 personnes",
    )
    messages = _messages(copy, paths.pages_dir())
    assert any(
        m.startswith("passages/002_e7c62706a1bc81c1.yml: 002_e7c62706a1bc81c1.p001: line not in")
        for m in messages
    )


def _entry(kb: KnowledgeBase, entry_id: str) -> Entry:
    entry = kb.entry(entry_id)
    assert entry is not None, entry_id
    return entry


def _aspect(kb: KnowledgeBase, entry_id: str, name: str) -> Aspect:
    aspect = _entry(kb, entry_id).aspect(name)
    assert aspect is not None, (entry_id, name)
    return aspect


def _architecture_intents() -> dict[str, str]:
    """Intent -> entry id, from the table of docs/architecture.md (the contract)."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `(ask_\w+)` \| `([a-z_]+\.[a-z_0-9]+)` \|", text, flags=re.MULTILINE))


def test_every_knowledge_intent_of_the_contract_has_its_entry(kb: KnowledgeBase) -> None:
    contract = _architecture_intents()
    assert len(contract) == 22
    for intent, entry_id in contract.items():
        entry = kb.entry_for_intent(intent)
        assert entry is not None and entry.id == entry_id, intent
        assert 1 <= entry.answer.count(". ") + 1 <= 6, f"{entry_id}: answer should be short"


def test_every_programme_has_an_entry_with_eligibility(kb: KnowledgeBase) -> None:
    for programme in PROGRAMMES:
        entry = kb.entry_for_programme(programme)
        assert entry is not None and entry.id == f"programme.{programme}"
        who = entry.aspect("who")
        assert who is not None and who.answer
    # "how" only where the page says how it is requested
    assert "à la demande de la personne" in _aspect(kb, "programme.voluntary_return", "how").answer
    assert _entry(kb, "programme.resettlement").aspect("how") is None


def test_disagreeing_figures_are_all_kept_with_the_current_one_marked(kb: KnowledgeBase) -> None:
    states = _entry(kb, "org.member_states").facts_labelled("États membres")
    assert {(f.value, f.current) for f in states} == {("175", True), ("166", False), ("173", False)}
    countries = _entry(kb, "org.presence").facts_labelled("Pays de présence")
    assert {(f.value, f.current) for f in countries} == {("171", True), ("plus de 100", False)}
    leaders = _entry(kb, "org.leadership").facts_labelled("Direction de l’OIM")
    assert [f.current for f in leaders if "Vitorino" in f.value] == [False]
    assert [f.current for f in leaders if "Directrice générale" in f.value] == [True]


def test_lookups_used_by_the_actions(kb: KnowledgeBase) -> None:
    assert kb.entry("nope") is None and kb.entry_for_intent("greet") is None
    council = _entry(kb, "event.council_110")
    assert [c.id for c in kb.contacts_for(entry_id=council.id)] == ["contact.press"]
    assert [c.id for c in kb.contacts_for(target="un_desa")] == ["contact.un_desa"]
    assert {c.id for c in kb.contacts_for()} == {"contact.press", "contact.md_unit", "contact.un_desa"}
    unit = kb.contact("contact.md_unit")
    assert unit is not None and unit.emails == ("migration4development@iom.int",)
    returns = _entry(kb, "programme.voluntary_return")
    assert kb.entry_for_programme("voluntary_return") is returns
    yemen = returns.country("yemen")
    assert yemen is not None and yemen.name == "Yémen" and returns.country("Tunisie") is None
    usa = _entry(kb, "programme.resettlement").country("Etats-Unis")
    assert usa is not None and usa.name == "États-Unis d'Amérique"
    assert [e.id for e in kb.entries_for_country("LIBYE")] == ["programme.voluntary_return"]
    title = (
        "L’aide au mouvement de l’OIM : évacuations, retours, rapatriement, migrants bloqués, réinstallation"
    )
    for key in ("002_e7c62706a1bc81c1.p006", "002_e7c62706a1bc81c1.txt", "002_e7c62706a1bc81c1"):
        assert kb.source_title(key) == title
    assert kb.source_title("unknown.p001") == ""
    assert all(not p.navigation for p in kb.passages())
    assert any(p.navigation for p in kb.passages(include_navigation=True))


def test_loading_does_not_need_spacy_or_rasa() -> None:
    """The action server and the validator load the knowledge without the language model (the
    load time is printed, not asserted: machine speed varies 2-4x between days)."""
    code = (
        "import sys, time; t = time.perf_counter(); from bot.knowledge.knowledge_base import KnowledgeBase; "
        "kb = KnowledgeBase.load(); print(time.perf_counter() - t, 'spacy' in sys.modules, 'rasa' in sys.modules, "
        "len(kb.entries()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    seconds, spacy_loaded, rasa_loaded, entries = result.stdout.split()
    print(f"knowledge loaded in {float(seconds):.2f} s")
    assert (spacy_loaded, rasa_loaded) == ("False", "False")
    assert int(entries) >= 20


def test_rasa_does_not_mistake_knowledge_files_for_training_data() -> None:
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    files = sorted(KNOWLEDGE.rglob("*.yml"))
    assert len(files) >= 10
    for path in files:
        assert not RasaYAMLReader.is_yaml_nlu_file(path), path
        assert not YAMLStoryReader.is_stories_file(path), path
