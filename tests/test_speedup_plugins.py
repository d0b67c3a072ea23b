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
