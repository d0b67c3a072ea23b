"""bot.nlu.lookup_entity_extractor trained on our own NLU data, stored and loaded by Rasa's model storage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge.paths import repo_root
from bot.nlu.lookup_entity_extractor import LookupEntityExtractor


class Storage:
    """Rasa's local model storage and one resource, as the training graph gives them."""

    def __init__(self, directory: Path) -> None:
        from rasa.engine.graph import ExecutionContext, GraphSchema
        from rasa.engine.storage.local_model_storage import LocalModelStorage
        from rasa.engine.storage.resource import Resource

        self.storage = LocalModelStorage(directory)
        self.context = ExecutionContext(GraphSchema({}), "test")
        self.resource = Resource("lookup_entity_extractor")

    def new(self, **config: Any) -> LookupEntityExtractor:
        return LookupEntityExtractor.create(
            {**LookupEntityExtractor.get_default_config(), **config}, self.storage, self.resource, self.context)

    def load(self) -> LookupEntityExtractor:
        return LookupEntityExtractor.load(
            LookupEntityExtractor.get_default_config(), self.storage, self.resource, self.context)


def parse(extractor: LookupEntityExtractor, text: str, nlp: Any = None) -> list[tuple[str, str, str]]:
    """(text of the span, entity, value) of each entity found; with `nlp`, the spaCy doc that
    SpacyNLP (case_sensitive: false, as in config.yml) gives the message."""
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    if nlp is not None:
        message.set("text_spacy_doc", nlp(text.lower()))
    extractor.process([message])
    return [(text[e["start"]:e["end"]], e["entity"], e["value"]) for e in message.get("entities", [])]


@pytest.fixture(scope="module")
def nlu_data() -> Any:
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(repo_root() / "data" / "nlu"), language="fr")


@pytest.fixture(scope="module")
def nlp() -> Any:
    import spacy

    return spacy.load("fr_core_news_md", exclude=["ner"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, nlu_data: Any) -> LookupEntityExtractor:
    extractor = Storage(tmp_path_factory.mktemp("storage")).new()
    extractor.train(nlu_data)
    return extractor


def test_users_typos_and_missing_accents_give_the_canonical_values(trained: LookupEntityExtractor) -> None:
    assert parse(trained, "je veux rentrer en libie") == [("libie", "country", "Libye")]
    assert parse(trained, "retour vonlontaire depuis le yemen") == [
        ("retour vonlontaire", "programme", "voluntary_return"), ("yemen", "country", "Yémen")]
    # Typos written nowhere in data/nlu: one edit away from a known word of 5+ letters.
    assert parse(trained, "c quoi la relocalistaion") == [("relocalistaion", "programme", "relocation")]
    assert parse(trained, "numero de leonnard doyle") == [("leonnard doyle", "contact_target", "press")]


def test_ordinary_words_are_not_read_as_entities(trained: LookupEntityExtractor, nlp: Any) -> None:
    assert parse(trained, "merci beaucoup pour votre aide") == []
    # One edit from "libye", "syrie", "france": real French words, known to spaCy's vocabulary.
    for text in ("tu connais un appart libre à Marseille ?", "un réfugié syrien", "le taux en franc cfa"):
        assert parse(trained, text, nlp) == [], text
    # Typos are not in that vocabulary.
    assert parse(trained, "je veux rentrer en libie", nlp) == [("libie", "country", "Libye")]
    assert parse(trained, "c quoi la relocalistaion", nlp) == [("relocalistaion", "programme", "relocation")]


def test_the_longest_known_phrase_wins(trained: LookupEntityExtractor) -> None:
    text = "initiative pour la réinstallation et les voies complémentaires durables"
    assert parse(trained, text) == [(text, "programme", "complementary_pathways")]
    assert parse(trained, "migrants bloqués aux etats unis") == [
        ("migrants bloqués", "programme", "stranded_migrants"), ("etats unis", "country", "États-Unis d'Amérique")]


def test_held_out_examples_are_found(nlu_data: Any, tmp_path: Path) -> None:
    """Trained on four fifths of data/nlu, the (entity, value) pairs of the other fifth (what the
    actions read) are found with F1 >= 0.9 (benchmarks/RESULTS.md has the comparison with DIET)."""
    train, test = nlu_data.train_test_split(train_frac=0.8, random_seed=7)
    extractor = Storage(tmp_path).new()
    extractor.train(train)
    synonyms = {k.lower(): v for k, v in nlu_data.entity_synonyms.items()}
    tp = fp = fn = 0
    for message in test.nlu_examples:
        gold = {(e["entity"], synonyms.get(str(e["value"]).lower(), e["value"])) for e in message.get("entities", [])}
        found = {(entity, value) for _, entity, value in parse(extractor, message.get("text"))}
        tp, fp, fn = tp + len(gold & found), fp + len(found - gold), fn + len(gold - found)
    assert tp > 150
    assert 2 * tp / (2 * tp + fp + fn) >= 0.9


def test_a_word_equally_close_to_two_entities_is_no_guess(tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(lookup_tables=[{"name": "country", "elements": ["salvador"]},
                                       {"name": "programme", "elements": ["salvadir"]}])
    extractor = Storage(tmp_path).new()
    extractor.train(data)
    assert parse(extractor, "salvador") == [("salvador", "country", "salvador")]
    assert parse(extractor, "salvadar") == []  # one edit from both


def test_stored_gazetteer_is_json_and_loads_to_the_same_results(tmp_path: Path, nlu_data: Any) -> None:
    storage = Storage(tmp_path)
    extractor = storage.new()
    extractor.train(nlu_data)
    stored = json.loads((tmp_path / storage.resource.name / "lookup_entity_extractor.json").read_text(encoding="utf-8"))
    assert ["libie"] in [words for words, _, _ in stored["phrases"]]
    loaded = storage.load()
    for text in ("retour vonlontaire depuis le yemen", "email de l'unité M&D", "je suis libre"):
        assert parse(loaded, text) == parse(extractor, text)


def test_missing_gazetteer_leaves_messages_alone(tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.message import Message

    extractor = Storage(tmp_path).load()
    message = Message(data={"text": "retour volontaire", "entities": [{"entity": "x", "value": "y"}]})
    extractor.process([message])
    assert message.get("entities") == [{"entity": "x", "value": "y"}]


def test_fingerprint_covers_the_code_and_the_text_folding() -> None:
    """Rasa's training cache must retrain the gazetteer when its code or bot/knowledge/textnorm.py changes."""
    import hashlib

    from bot.knowledge import textnorm
    from bot.nlu import lookup_entity_extractor

    digest = hashlib.sha256()
    for module in (lookup_entity_extractor.__file__, textnorm.__file__):
        digest.update(Path(module).read_bytes())
    assert LookupEntityExtractor.fingerprint_addon({}) == digest.hexdigest()
