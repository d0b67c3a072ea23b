"""Speed-ups plugged in through Rasa's own extension points, on the real Rasa and spaCy.

- bot.serving.sqlite_tracker_store.SQLiteTrackerStore (endpoints.yml): SQLite in WAL mode with
  synchronous=NORMAL on its own engine; Rasa's `type: SQL` store is left as it is.
- bot.nlu.spacy_nlp.SpacyNLP (config.yml): one spaCy model per process, without the entity
  recogniser, giving the pipeline the same tokens, lemmas, tags and vectors.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import yaml

from bot.knowledge.paths import repo_root

# --- tracker store ---------------------------------------------------------------------------------


def _journal_mode(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])


def test_endpoints_files_name_our_sqlite_store() -> None:
    from bot.serving.sqlite_tracker_store import STORE_TYPE

    endpoints = yaml.safe_load((repo_root() / "endpoints.yml").read_text(encoding="utf-8"))
    assert endpoints["tracker_store"]["type"] == STORE_TYPE


def test_sqlite_store_is_wal_and_normal_sync_and_keeps_conversations(tmp_path: Path) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.serving.sqlite_tracker_store import SQLiteTrackerStore
    from bot.serving.tracker_stores import open_tracker_store, store_info

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: bot.serving.sqlite_tracker_store.SQLiteTrackerStore\n"
        "  dialect: sqlite\n  db: ours.db\n", encoding="utf-8")
    info = store_info(endpoints)
    assert info.kind == "sql" and info.sqlite_path == tmp_path / "ours.db"  # staff console, purge
    store = open_tracker_store(endpoints)  # as Rasa creates it from the endpoints file
    assert isinstance(store, SQLiteTrackerStore) and isinstance(store, SQLTrackerStore)
    assert _journal_mode(tmp_path / "ours.db") == "wal"
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL

    tracker = DialogueStateTracker.from_events("wal-user", [ActionExecuted("action_listen"), UserUttered("bonjour")])
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("wal-user"))
    assert again is not None and again.latest_message.text == "bonjour"

    stock = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "stock.db"))  # no global listener
    asyncio.run(stock.save(tracker))
    assert _journal_mode(tmp_path / "stock.db") == "delete"


def _rows(db: Path) -> list[tuple]:
    """The rows of the events table, timestamps left out (the stores' first action_listen differ)."""
    import json

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT sender_id, type_name, intent_name, action_name, data FROM events ORDER BY id").fetchall()
    return [(*row[:4], {k: v for k, v in json.loads(row[4]).items() if k != "timestamp"}) for row in rows]


def _without_time(tracker) -> list[dict]:  # noqa: ANN001
    return [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in tracker.events]


def _turn(number: int) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    return [UserUttered(f"question {number}", {"name": "ask_about_iom", "confidence": 0.9}),
            ActionExecuted("action_answer_question"), BotUttered(f"réponse {number}"),
            SlotSet("topic", f"topic{number % 2}"), ActionExecuted("action_listen")]


def _store(db: Path, **settings: object):  # noqa: ANN202
    from rasa.shared.core.domain import Domain

    from bot.serving.sqlite_tracker_store import SQLiteTrackerStore

    return SQLiteTrackerStore(Domain.load(str(repo_root() / "domain.yml")), dialect="sqlite", db=str(db), **settings)


def test_kept_trackers_store_exactly_what_rasas_sql_store_stores(tmp_path: Path) -> None:
    """Issue 18: the conversation is not read back and rebuilt at every turn, and the rows written
    are the ones Rasa's own store writes for the same turns."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    ours = _store(tmp_path / "ours.db")
    stock = SQLTrackerStore(Domain.load(str(repo_root() / "domain.yml")), dialect="sqlite", db=str(tmp_path / "stock.db"))

    def new_session() -> list:
        return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]

    async def converse(store: SQLTrackerStore) -> tuple[list, list]:
        """What the store gave at each turn (events, and the tracker object)."""
        seen, objects = [], []
        for number in range(6):
            tracker = await store.get_or_create_tracker("user-1")
            seen.append(_without_time(tracker))
            objects.append(tracker)
            for e in (new_session() + _turn(number) if number == 4 else _turn(number)):  # in time order
                tracker.update(e)
            await store.save(tracker)
        last = await store.retrieve("user-1")
        return [*seen, _without_time(last)], [*objects, last]

    ours_seen, ours_objects = asyncio.run(converse(ours))
    stock_seen, _ = asyncio.run(converse(stock))
    assert _rows(tmp_path / "ours.db") == _rows(tmp_path / "stock.db")
    assert ours_seen == stock_seen  # the same conversation at each turn
    assert ours_objects[2] is ours_objects[1] and ours_objects[4] is ours_objects[1]  # kept, not rebuilt
    assert ours_objects[1] is ours_objects[0]  # a new conversation too: written at once, then kept
    assert ours_objects[6] is not ours_objects[4]  # a new session started: read back (its events only)
    assert len(ours_seen[6]) < len(ours_seen[4])


def test_kept_trackers_never_hide_what_the_database_holds(tmp_path: Path) -> None:
    from rasa.shared.core.events import UserUttered

    db = tmp_path / "trackers.db"
    store, other_process = _store(db), _store(db)

    async def scenario() -> None:
        new = await store.get_or_create_tracker("u")
        for e in _turn(1):
            new.update(e)
        await store.save(new)
        tracker = await store.retrieve("u")  # read back once, then kept
        assert await store.retrieve("u") is tracker and _without_time(tracker) == _without_time(new)

        # Another process (a second Rasa, the staff console) writes to the conversation.
        theirs = await other_process.retrieve("u")
        theirs.update(UserUttered("écrit ailleurs"))
        await other_process.save(theirs)
        again = await store.retrieve("u")
        assert again is not tracker and again.latest_message.text == "écrit ailleurs"

        # An event added but never saved (an error in the middle of a turn) is not served back.
        again.update(UserUttered("jamais enregistré"))
        assert (await store.retrieve("u")).latest_message.text == "écrit ailleurs"

        # The conversation is purged: nothing is served from memory.
        with sqlite3.connect(db) as connection:
            connection.execute("DELETE FROM events WHERE sender_id = 'u'")
        assert await store.retrieve("u") is None

    asyncio.run(scenario())


def test_kept_trackers_are_bounded(tmp_path: Path) -> None:
    async def scenario(store) -> int:  # noqa: ANN001
        for sender in ("a", "b", "c", "d"):
            tracker = await store.get_or_create_tracker(sender)
            tracker.update(_turn(0)[0])
            await store.save(tracker)
            await store.retrieve(sender)
        return len(store._cache)

    assert asyncio.run(scenario(_store(tmp_path / "two.db", cache_size=2))) == 2
    assert asyncio.run(scenario(_store(tmp_path / "none.db", cache_size=0))) == 0


# --- spaCy -----------------------------------------------------------------------------------------

SENTENCES = ["Je suis bloqué en Libye, comment rentrer chez moi ?", "L'OIM a été créée en 1951 à Bruxelles.",
             "Qui dirige l'Organisation internationale pour les migrations à Genève ?"]


@pytest.fixture(scope="module")
def spacy_component() -> type:
    from bot.nlu.spacy_nlp import SpacyNLP

    return SpacyNLP


def test_config_names_our_spacy_component_and_rasa_wires_it(spacy_component: type) -> None:
    import rasa.shared.utils.io
    from rasa.engine import validation
    from rasa.engine.recipes.recipe import Recipe
    from rasa.shared.data import TrainingType

    config = rasa.shared.utils.io.read_model_configuration(str(repo_root() / "config.yml"))
    assert config["pipeline"][1]["name"] == "bot.nlu.spacy_nlp.SpacyNLP"
    graph = Recipe.recipe_for_name(config.get("recipe")).graph_config_for_recipe(
        config, {}, training_type=TrainingType.BOTH)
    validation.validate(graph)  # SpacyTokenizer / SpacyFeaturizer find their spaCy provider
    users = {node.uses for node in graph.predict_schema.nodes.values()}
    assert spacy_component in users
    assert not any(u.__module__.startswith("rasa.") and u.__name__ == "SpacyNLP" for u in users)


def test_spacy_loads_once_without_ner_and_features_are_unchanged(spacy_component: type) -> None:
    config = {"model": "fr_core_news_md", "case_sensitive": False}
    first = spacy_component.create(config, None, None, None)
    second = spacy_component.create(config, None, None, None)  # the graph's provide_ and run_ nodes
    assert first.provide() is second.provide()  # one loaded model per process
    ours = first.provide().model
    assert "ner" not in ours.pipe_names and "ner" in ours.disabled

    full = spacy_component.create({**config, "disabled_pipes": []}, None, None, None).provide().model
    assert "ner" in full.pipe_names
    for text in SENTENCES:
        a, b = ours(text), full(text)
        assert [(t.text, t.lemma_, t.pos_, t.tag_, t.morph.to_json()) for t in a] == \
               [(t.text, t.lemma_, t.pos_, t.tag_, t.morph.to_json()) for t in b]
        assert (a.vector == b.vector).all()


def test_config_pipes_give_rasa_the_same_tokens_and_vectors(spacy_component: type) -> None:
    """config.yml runs spaCy's tokenizer only (issue 18: the tagging pipes cost ~2.2 ms a message
    and nothing reads their output): the tokens and dense features Rasa's tokenizer and featurizer
    make from it are those of the full model."""
    import rasa.shared.utils.io
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.dense_featurizer.spacy_featurizer import SpacyFeaturizer
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP
    from rasa.shared.nlu.training_data.message import Message

    config = rasa.shared.utils.io.read_model_configuration(str(repo_root() / "config.yml"))
    ours_config = {k: v for k, v in config["pipeline"][1].items() if k != "name"}
    assert "tok2vec" in ours_config["disabled_pipes"] and "ner" in ours_config["disabled_pipes"]
    context = ExecutionContext(GraphSchema({}), "test")

    def features(nlp_class: type, settings: dict) -> list:
        storage = LocalModelStorage(Path(__file__).parent)  # nothing is written: no training
        nlp = nlp_class.create({**nlp_class.get_default_config(), **settings}, storage, Resource("nlp"), context)
        tokenizer = SpacyTokenizer.create(SpacyTokenizer.get_default_config(), storage, Resource("t"), context)
        featurizer = SpacyFeaturizer.create({**SpacyFeaturizer.get_default_config(), "pooling": "mean"},
                                            storage, Resource("f"), context)
        messages = [Message(data={"text": text}) for text in SENTENCES + ["bjr kan c cree loim ??", "Yémen"]]
        nlp.process(messages, nlp.provide())
        tokenizer.process(messages)
        featurizer.process(messages)
        return [([(t.text, t.start, t.end) for t in m.get("text_tokens")],
                 [f.features for f in m.get_dense_features("text")]) for m in messages]

    ours = features(spacy_component, ours_config)
    full = features(RasaSpacyNLP, {"model": "fr_core_news_md", "case_sensitive": False})
    for (our_tokens, our_dense), (full_tokens, full_dense) in zip(ours, full, strict=True):
        assert our_tokens == full_tokens
        for a, b in zip(our_dense, full_dense, strict=True):
            assert (a == b).all()


def test_page_analyses_read_back_from_disk_equal_spacys_and_are_only_page_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action server's start reads the pages' spaCy analyses back from the cache: the same
    lemmas, entities and vectors as analysing them again; a question is never written there."""
    import numpy as np

    from bot.knowledge import nlp
    from bot.knowledge.sentence_search import _analyse
    from bot.knowledge.textnorm import fold_apostrophes

    monkeypatch.setenv("OIM_CACHE_DIR", str(tmp_path))
    texts = [
        "Le Directeur général de l’OIM, António Vitorino, s’est adressé aux 173 Etats membres à Genève.",
        "L'OIM aide des migrants qui se trouvent en Libye ou au Yémen à rentrer dans leur pays d'origine.",
    ]
    first = nlp.page_docs(texts)
    stored = list((tmp_path / "page-analyses").glob("*.spacy"))
    assert len(stored) == 1
    again = nlp.page_docs(texts)  # read back
    fresh = list(nlp.french().pipe([fold_apostrophes(t) for t in texts]))
    for docs in (first, again):
        assert [[(t.text, t.lemma_, t.pos_) for t in d] for d in docs] == [[(t.text, t.lemma_, t.pos_) for t in d] for d in fresh]
        assert [[(e.text, e.label_) for e in d.ents] for d in docs] == [[(e.text, e.label_) for e in d.ents] for d in fresh]
        assert all(np.allclose(a.vector, b.vector) for a, b in zip(docs, fresh, strict=True))
    # Other texts, another file; a broken file is analysed again, not an error.
    stored[0].write_bytes(b"not a DocBin")
    assert [t.lemma_ for t in nlp.page_docs(texts)[1]] == [t.lemma_ for t in fresh[1]]
    _analyse(["mon numéro est le 0612345678, aidez-moi"], entities=False, keep=False)
    _analyse(["je suis bloqué à Tripoli"], entities=True, keep=False)
    # A whole index built there, then searched and ranked with a question: only page texts are written.
    from bot.knowledge.knowledge_base import KnowledgeBase
    from bot.knowledge.paths import knowledge_dir
    from bot.knowledge.sentence_search import SentenceIndex

    index = SentenceIndex.build(KnowledgeBase.load(knowledge_dir()))
    assert index.rank("je m'appelle Zorglubovitch, combien d'États membres ?", None, "number")
    from spacy.tokens import DocBin

    written = " ".join(
        doc.text
        for f in (tmp_path / "page-analyses").glob("*.spacy")
        for doc in DocBin().from_bytes(f.read_bytes()).get_docs(nlp.french().vocab)
    )
    assert "Genève" in written  # the pages' texts are there
    for private in ("0612345678", "Tripoli", "Zorglubovitch"):
        assert private not in written


# --- dialogue policy ----------------------------------------------------------------------------------


def test_one_step_rule_policy_predicts_exactly_what_rulepolicy_predicts(model_path: Path) -> None:
    """config.yml's OneStepRulePolicy (issue 18) on the trained model: for conversations of every
    intent of the domain in turn (default intents and a loop-free domain included), each prediction,
    whether asked for the first time or given again, equals RulePolicy's own on the same tracker:
    probabilities, rule-turn hiding, events. A rule with a slot condition turns the remembering off."""
    import random

    from rasa.core.agent import Agent
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import ACTION_LISTEN_NAME, DEFAULT_INTENTS
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.nlu.one_step_rule_policy import OneStepRulePolicy, rules_are_one_step

    agent = Agent.load(str(model_path))
    nodes = agent.processor.graph_runner._instantiated_nodes  # noqa: SLF001 - the trained policy itself
    policies = [n._component for n in nodes.values() if isinstance(n._component, OneStepRulePolicy)]  # noqa: SLF001
    assert len(policies) == 1, "config.yml names OneStepRulePolicy"
    policy, domain = policies[0], agent.domain
    assert rules_are_one_step(policy.lookup)

    def same(a: object, b: object) -> None:
        fields = ("probabilities", "policy_name", "policy_priority", "events", "optional_events",
                  "is_end_to_end_prediction", "is_no_user_prediction", "hide_rule_turn", "action_metadata")
        assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}

    intents = list(domain.intents)
    assert set(DEFAULT_INTENTS) & set(intents)
    rng = random.Random(18)
    copies = 0
    for conversation in range(12):
        tracker = DialogueStateTracker.from_events(f"c{conversation}", [ActionExecuted(ACTION_LISTEN_NAME)], domain.slots)
        for intent in rng.sample(intents, len(intents)):
            tracker.update(UserUttered(f"message {intent}", {"name": intent, "confidence": 0.9}))
            if rng.random() < 0.3:
                tracker.update(SlotSet("topic", "programme.evacuation"))  # slots are no rule's condition
            copies += (intent, ACTION_LISTEN_NAME) in policy._given  # noqa: SLF001
            ours = policy.predict_action_probabilities(tracker, domain)
            same(ours, RulePolicy.predict_action_probabilities(policy, tracker, domain))
            action = domain.action_names_or_texts[ours.max_confidence_index]
            tracker.update(ActionExecuted(action))
            ours = policy.predict_action_probabilities(tracker, domain)
            same(ours, RulePolicy.predict_action_probabilities(policy, tracker, domain))
            tracker.update(ActionExecuted(domain.action_names_or_texts[ours.max_confidence_index]))
    assert copies > 100  # most predictions were given again, not recomputed

    with_condition = dict(policy.lookup)
    with_condition["rules"] = {
        '[{"prev_action": {"action_name": "action_listen"}, "slots": {"topic": [1.0]}, "user": {"intent": "greet"}}]':
            "utter_greet", **policy.lookup["rules"]}
    assert not rules_are_one_step(with_condition)
