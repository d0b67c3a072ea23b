"""Eight measured fixes for Rasa 3.6 hot paths, applied inside the Rasa server process.

Why: profiling a turn (benchmarks/profile_turn.py) showed costs that are not the model's:

1. After every custom action Rasa checks the action server's answer with `jsonschema.validate`,
   which first re-validates Rasa's own events schema against the JSON-Schema meta-schema: about
   45 of the ~50 ms per action call on our 2-core machine. Here the validator is built once and the
   answer is checked against the same schema, raising the same error.
2. The SQLite tracker store (endpoints.yml) opens a connection per operation and commits 2-3 times
   per turn in SQLite's default rollback-journal mode, each commit waiting for the disk (~15 ms
   here). WAL journal with synchronous=NORMAL keeps every committed turn across a crash of Rasa;
   only a power loss or OS crash may drop the last few turns, an acceptable trade for a
   conversation log. One connection per database file stays open in the process so that closing
   the others does not checkpoint and delete the WAL each time (another disk wait). Other
   processes (web service, purge) read the same file normally.
3. SpacyNLP runs spaCy's named-entity recogniser on every message (~11 of ~14 ms per message
   here) although no component of config.yml reads spaCy entities: tokens, lemmas, POS tags and
   vectors, all the pipeline uses, are identical without it. It stays on if config.yml lists
   SpacyEntityExtractor. Rasa also loads the same spaCy model twice (the graph's provide_ and run_
   SpacyNLP nodes, ~350 MB and several seconds each): one loaded copy per model name is shared.
4. Loading a conversation turns each stored event back into an object by searching the whole
   Event class tree for its type name (`Event.resolve_by_type`): ~0.2 ms per event, every turn,
   for every event of the conversation. The answer is cached per type name.

5. Loading a model, Rasa rebuilds each TensorFlow model (DIET, TED) by tracing and running one
   *training* step (backpropagation, Adam optimizer state) before loading the trained weights:
   most of the start-up time and a few hundred MB per process, for nothing a server uses. Here
   the trained weights are restored as the prediction graph creates its variables (TensorFlow's
   restore-on-create), then one prediction is traced, as Rasa does. Predictions are identical
   (`python -m benchmarks.check_speedups` compares both loads message by message). Fine-tuning
   (`rasa train --finetune`) keeps Rasa's own path.
6. `rasa test nlu` reverts each FallbackClassifier prediction to the intent below it (so that
   nlu_fallback does not hide the real guess) with a `copy.deepcopy` of the whole parse result,
   which holds the spaCy Doc and with it the vocabulary and vectors: ~1 s per message, 95% of a
   cross-validation run (py-spy). Here only the two keys it changes are replaced in a shallow copy;
   the evaluated intent, confidence and ranking are the same.
7. spaCy's French tokenizer compiles a 1.4 MB regular expression at import (2-3 s per start):
   bot/knowledge/regex_cache.py keeps the compiled program on disk (installed here, before the model loads).
8. Training DIET, every batch is padded to its longest message. Batches are drawn at random, so
   nearly every one holds a 20-28-token message while the median is 7 tokens: most of the
   transformer's work is on padding. Here, after Rasa's own shuffle and class balancing, the
   examples of each run of 8 batches are grouped by length before being cut into batches, and the
   batch order is shuffled: the same examples, epochs, batch sizes and class mix over 8 batches,
   with little padding. Training only; `rasa train` without this module gives a model of the
   same kind and quality (benchmarks/RESULTS.md), only slower.

`apply()` runs when Rasa imports bot.serving.rest_channel (listed in credentials.yml), so every
`rasa run` of this project gets them; `python -m bot.cli.rasa_cli ...` is Rasa's CLI with them applied
first (what `make evaluate` runs `rasa test nlu` with); it is idempotent. OIM_RASA_SPEEDUPS=0
turns them all off (to compare, or to rule them out when debugging).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import Any

import yaml

from bot.knowledge.paths import repo_root

logger = logging.getLogger(__name__)

_applied = False
_validator: Any = None
_wal_keepers: dict[str, sqlite3.Connection] = {}  # database file -> connection kept open
rasa_undo_fallback_prediction: Any = None  # Rasa's own, kept to compare (tests)


def _action_result_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once, instead of on every action call
        _validator = cls(schema)
    return _validator


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Same check and error as RemoteAction._validate_action_result, with a prebuilt validator."""
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import DOCS_BASE_URL

    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from "
            f"the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def sqlite_fast_commits(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLAlchemy connect hook: WAL journal + synchronous=NORMAL on SQLite connections only."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main" and row[2]]
    finally:
        cursor.close()
    for path in files:
        if path not in _wal_keepers:
            keeper = sqlite3.connect(path, check_same_thread=False)
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()  # opens the WAL: holds it
            _wal_keepers[path] = keeper


def pipeline_uses_spacy_entities() -> bool:
    """Whether config.yml has a component that reads spaCy's entities (SpacyEntityExtractor)."""
    try:
        config = yaml.safe_load((repo_root() / "config.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return True  # unknown: keep spaCy as Rasa loads it
    return any("SpacyEntityExtractor" in str(c.get("name", "")) for c in config.get("pipeline") or [])


def _load_spacy_once(original: Any, without_ner: bool) -> Any:
    loaded: dict[str, Any] = {}

    def load_model(spacy_model_name: str) -> Any:
        if spacy_model_name not in loaded:  # spaCy models are only read at inference: shareable
            spacy_model = original(spacy_model_name)
            if without_ner and "ner" in spacy_model.model.pipe_names:
                spacy_model.model.disable_pipe("ner")
            loaded[spacy_model_name] = spacy_model
        return loaded[spacy_model_name]
    return staticmethod(load_model)


def _cached_event_types(original: Any) -> Any:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    by_name: dict[str, Any] = {}

    def refresh() -> None:
        by_name.clear()
        for cls in all_subclasses(Event):  # same order as Rasa's search: first match wins
            by_name.setdefault(cls.type_name, cls)

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        if type_name not in by_name:
            refresh()  # an event class imported since the last look
        found = by_name.get(type_name)
        return found if found is not None else original(type_name, default)

    return staticmethod(resolve_by_type)


def _load_for_inference(original: Any) -> Any:
    def load(cls: Any, model_file_name: str, model_data_example: Any, predict_data_example: Any = None,
             finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:
        if finetune_mode or predict_data_example is None:
            return original.__func__(cls, model_file_name, model_data_example, predict_data_example,
                                     finetune_mode, *args, **kwargs)
        model = cls(*args, **kwargs)
        # Variables do not exist yet: each one gets its trained value when the graph creates it.
        model.load_weights(model_file_name).expect_partial()  # optimizer slots are not needed
        model.run_inference(predict_data_example)
        return model
    return classmethod(load)


def undo_fallback_prediction(prediction: dict[str, Any]) -> dict[str, Any]:
    """Same result as Rasa's fallback_classifier.undo_fallback_prediction, without the deep copy."""
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY

    ranking = prediction.get(INTENT_RANKING_KEY, [])
    if len(ranking) < 2:
        return prediction
    return {**prediction, INTENT: dict(ranking[1]), INTENT_RANKING_KEY: [dict(r) for r in ranking[1:]]}


# Fix 8: batches per length bucket (class balance is kept across this many consecutive batches).
BUCKET_BATCHES = 8


def length_bucketed_order(lengths: Any, batch_size: int, rng: Any) -> Any:
    """A permutation of the examples: groups of `BUCKET_BATCHES` batches sorted by length, cut into
    batches, the full batches in random order, a last incomplete batch kept last (Rasa slices
    batches at fixed offsets, so it must stay at the end)."""
    import numpy as np

    count = len(lengths)
    span = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, count, span):
        ids = np.arange(start, min(start + span, count))
        ids = ids[np.argsort(lengths[ids], kind="stable")]
        batches += [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    last = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    order = [batches[i] for i in rng.permutation(len(batches))] + last
    return np.concatenate(order) if order else np.arange(0)


def _length_bucketed(original: Any) -> Any:
    def shuffle_and_balance(self: Any, batch_size: int) -> Any:
        import numpy as np
        from rasa.shared.nlu.constants import TEXT
        from rasa.utils.tensorflow.constants import SEQUENCE_LENGTH
        from rasa.utils.tensorflow.model_data import RasaModelData

        data = original(self, batch_size)
        lengths = (data.get(TEXT) or {}).get(SEQUENCE_LENGTH) if self.shuffle else None
        if not lengths or np.asarray(lengths[0]).ndim != 1:
            return data  # not a DIET-like text model (e.g. TED's dialogue data): Rasa's order
        order = length_bucketed_order(np.asarray(lengths[0]), batch_size, np.random)
        return RasaModelData._data_for_ids(data, order)

    shuffle_and_balance.__wrapped__ = original  # type: ignore[attr-defined]
    return shuffle_and_balance


def apply() -> None:
    """Install the fixes in this process (once), unless OIM_RASA_SPEEDUPS=0."""
    global _applied, rasa_undo_fallback_prediction
    if _applied or os.environ.get("OIM_RASA_SPEEDUPS", "1") == "0":
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.classifiers import fallback_classifier
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.core.events import Event
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from bot.knowledge import regex_cache

    regex_cache.install()  # before the model loads spaCy's French (see bot/knowledge/regex_cache.py)

    RasaModel.load = _load_for_inference(RasaModel.load)  # type: ignore[method-assign]
    Event.resolve_by_type = _cached_event_types(Event.resolve_by_type)  # type: ignore[method-assign]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    event.listen(Engine, "connect", sqlite_fast_commits)
    SpacyNLP.load_model = _load_spacy_once(  # type: ignore[method-assign]
        SpacyNLP.load_model, without_ner=not pipeline_uses_spacy_entities())
    rasa_undo_fallback_prediction = fallback_classifier.undo_fallback_prediction
    fallback_classifier.undo_fallback_prediction = undo_fallback_prediction
    RasaBatchDataGenerator._shuffle_and_balance = _length_bucketed(  # type: ignore[method-assign]
        RasaBatchDataGenerator._shuffle_and_balance)
    _applied = True
    logger.debug("Rasa speed-ups applied: action answer validator, SQLite WAL, spaCy once without NER, event types, model load, evaluation copies, regex cache, length-bucketed batches")
