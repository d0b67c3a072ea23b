"""Rasa's SpacyNLP, loading each spaCy model once per process and without the pipes nobody reads.

Why (profiling, benchmarks/RESULTS.md): Rasa's SpacyNLP runs spaCy's named-entity recogniser on
every message (~11 of ~14 ms per message here) although no component of config.yml reads spaCy
entities. config.yml goes further and keeps only the tokenizer (issue 18): SpacyTokenizer,
SpacyFeaturizer (static word vectors), the entity gazetteer and the intent classifier read
tokens and vectors only, identical without tok2vec, the tagger, the lemmatizer and NER, which
cost ~2.2 ms more per message (tests/test_speedup_plugins.py compares the features).
Rasa also loads the same spaCy model twice per process (the graph's provide_ and run_ SpacyNLP
nodes, ~350 MB and several seconds each). This component, named in config.yml as
`bot.nlu.spacy_nlp.SpacyNLP`, shares one loaded copy per (model name, disabled pipes): spaCy models
are only read at inference. `disabled_pipes` (default `[ner]`) must be `[]` if the pipeline ever
gets SpacyEntityExtractor.

The class keeps Rasa's name, SpacyNLP: Rasa's SpacyTokenizer and SpacyFeaturizer find their model
provider by that class name (DefaultV1Recipe `model_from="SpacyNLP"`). Registering it replaces the
recipe's "SpacyNLP" entry in a process that imports this module; Rasa's own class is unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils import spacy_utils
from rasa.nlu.utils.spacy_utils import SpacyModel

logger = logging.getLogger(__name__)

_loaded: dict[tuple[str, tuple[str, ...]], SpacyModel] = {}


def shared_model(name: str, disabled_pipes: tuple[str, ...]) -> SpacyModel:
    """The spaCy model `name` (loaded by Rasa's SpacyNLP.load_model) with `disabled_pipes` off, once per process."""
    key = (name, disabled_pipes)
    if key not in _loaded:
        model = spacy_utils.SpacyNLP.load_model(name)
        for pipe in disabled_pipes:
            if pipe in model.model.pipe_names:
                model.model.disable_pipe(pipe)
        _loaded[key] = model
    return _loaded[key]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MODEL_LOADER, DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(spacy_utils.SpacyNLP):
    """SpacyNLP with one shared spaCy model per process and unused pipes (NER) disabled."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**spacy_utils.SpacyNLP.get_default_config(), "disabled_pipes": ["ner"]}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpacyNLP:
        config = {**cls.get_default_config(), **config}
        name = config.get("model")
        logger.info("Loading spaCy model %r (shared, without %s).", name, config["disabled_pipes"])
        model = shared_model(name or "", tuple(config["disabled_pipes"] or ()))
        cls.ensure_proper_language_model(model.model)
        return cls(model, config)
