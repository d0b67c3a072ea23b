"""Five measured fixes for Rasa 3.6 internals that have no plug-in point, each behind a source guard.

Why: profiling (benchmarks/profile_turn.py, py-spy) showed costs that are not the model's. What could
be plugged in through Rasa's own extension points is: spaCy loaded once per model name without its
unused entity recogniser is the `bot.nlu.spacy_nlp.SpacyNLP` component of config.yml, and SQLite's
WAL journal is the `bot.serving.sqlite_tracker_store.SQLiteTrackerStore` of endpoints.yml. The five
below replace a Rasa function. Each records the sha256 of the source of the function it replaces
(`EXPECTED_SOURCES`); `bot.knowledge.source_guard.guarded_replace` installs it only over that exact
code and otherwise logs a WARNING and leaves Rasa's own code running (another Rasa version: the
speed-up is lost, never the behaviour).

1. After every custom action Rasa checks the action server's answer with `jsonschema.validate`,
   which first re-validates Rasa's own events schema against the JSON-Schema meta-schema: about
   45 of the ~50 ms per action call on our 2-core machine. Here the validator is built once and the
   answer is checked against the same schema, raising the same error.
2. Loading a conversation turns each stored event back into an object by searching the whole
   Event class tree for its type name (`Event.resolve_by_type`): ~0.2 ms per event, every turn,
   for every event of the conversation. The answer is cached per type name.
3. Loading a model, Rasa rebuilds each TensorFlow model (DIET, TED) by tracing and running one
   *training* step (backpropagation, Adam optimizer state) before loading the trained weights:
   most of the start-up time and a few hundred MB per process, for nothing a server uses. Here
   the trained weights are restored as the prediction graph creates its variables (TensorFlow's
   restore-on-create), then one prediction is traced, as Rasa does. Predictions are identical
   (`python -m benchmarks.check_speedups` compares both loads message by message). Fine-tuning
   (`rasa train --finetune`) keeps Rasa's own path.
4. `rasa test nlu` reverts each FallbackClassifier prediction to the intent below it (so that
   nlu_fallback does not hide the real guess) with a `copy.deepcopy` of the whole parse result,
   which holds the spaCy Doc and with it the vocabulary and vectors: ~1 s per message, 95% of a
   cross-validation run (py-spy). Here only the two keys it changes are replaced in a shallow copy;
   the evaluated intent, confidence and ranking are the same.
5. Training DIET, every batch is padded to its longest message. Batches are drawn at random, so
   nearly every one holds a 20-28-token message while the median is 7 tokens: most of the
   transformer's work is on padding. Here, after Rasa's own shuffle and class balancing, the
   examples of each run of 8 batches are grouped by length before being cut into batches, and the
   batch order is shuffled: the same examples, epochs, batch sizes and class mix over 8 batches,
   with little padding. Training only; `rasa train` without this module gives a model of the
   same kind and quality (benchmarks/RESULTS.md), only slower. (A DIETClassifier subclass would
   have to copy DIET's whole `train`, where the data generator is made.)

`apply()` is called by the start-up module every Rasa server of this project is started with
(`python -m bot.serving.startup`: make run, the update gates, the tests), by `python -m
bot.cli.rasa_cli` (Rasa's CLI for train and test), and, for a plain `rasa run`, when Rasa imports
bot.serving.rest_channel (credentials.yml); it is idempotent. OIM_RASA_SPEEDUPS=0 turns these five
and the regex cache off (to compare, or to rule them out when debugging).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from bot.knowledge.source_guard import guarded_replace

logger = logging.getLogger(__name__)

SPEEDUPS_ENV = "OIM_RASA_SPEEDUPS"

# sha256 of the source of each Rasa function replaced here, as in Rasa 3.6.21 (bot.knowledge.source_guard).
EXPECTED_SOURCES = {
    "RemoteAction._validate_action_result": "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42",
    "Event.resolve_by_type": "b5cf570fa7f286c7059ec73d8880528d03a78b28cf4e80285a46079c0fa65968",
    "RasaModel.load": "84fd81c0fdd01a8048de2d9b5b3022bdbf1e155f7b4d67737eb51ecb0787d292",
    "fallback_classifier.undo_fallback_prediction": "d8f80a091a5f978c06ce3599baf24af4c2a9a137d31d23eb339ac00e4aa2eaa5",
    "RasaBatchDataGenerator._shuffle_and_balance": "f3c2d26e580952c7a3fb9ce428b1189a9a9366000f7835d8d3a72d47db27ac60",
}

_applied = False
_validator: Any = None
applied: dict[str, bool] = {}  # speed-up -> installed (False: refused by its guard)
rasa_undo_fallback_prediction: Any = None  # Rasa's own, kept to compare (tests)


def enabled() -> bool:
    """False when OIM_RASA_SPEEDUPS=0: Rasa's own code everywhere (to compare or debug)."""
    return os.environ.get(SPEEDUPS_ENV, "1") != "0"


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


# Fix 5: batches per length bucket (class balance is kept across this many consecutive batches).
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
    """Install the five fixes and the regex cache in this process (once), unless OIM_RASA_SPEEDUPS=0.

    Each fix goes through its source guard: a Rasa function that is not the one it was written
    for keeps Rasa's code (one WARNING line each).
    """
    global _applied, rasa_undo_fallback_prediction
    if _applied or not enabled():
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.classifiers import fallback_classifier
    from rasa.shared.core.events import Event
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    from bot.knowledge import regex_cache

    applied["regex cache"] = regex_cache.install()  # before a model loads spaCy's French
    rasa_undo_fallback_prediction = fallback_classifier.undo_fallback_prediction
    fixes = (
        (RemoteAction, "_validate_action_result", validate_action_result,
         "RemoteAction._validate_action_result", "prebuilt validator for action answers"),
        (Event, "resolve_by_type", _cached_event_types(Event.resolve_by_type),
         "Event.resolve_by_type", "event types cached by name"),
        (RasaModel, "load", _load_for_inference(RasaModel.load), "RasaModel.load", "model load without a training step"),
        (fallback_classifier, "undo_fallback_prediction", undo_fallback_prediction,
         "fallback_classifier.undo_fallback_prediction", "evaluation without deep copies"),
        (RasaBatchDataGenerator, "_shuffle_and_balance", _length_bucketed(RasaBatchDataGenerator._shuffle_and_balance),
         "RasaBatchDataGenerator._shuffle_and_balance", "DIET batches grouped by length"),
    )
    for owner, name, replacement, key, what in fixes:
        applied[what] = guarded_replace(owner, name, replacement, EXPECTED_SOURCES[key], what)
    _applied = True
    logger.debug("Rasa speed-ups: %s", ", ".join(f"{k} {'on' if v else 'REFUSED'}" for k, v in applied.items()))
