"""Entity extractor for config.yml: every known way of writing an entity, found despite typos.

Why: our entities (programme, country, contact_target) are closed lists of names, and
data/nlu/entities.yml already lists how users write them (synonyms, lookup tables, annotated
examples). DIET, kept only to tag them, was ~60 % of the full training time (issue 18) and gives
a typo'd word its raw text as value ("relocalistion" -> "relocalistion"), which no action can
use. This gazetteer learns in well under a second from the same data and always returns the
canonical value; a word of 5+ letters one edit away (two for 10+) from a known entity word still
counts ("libie", "yemen", "retour vonlontaire"), unless it is a real word: one in the spaCy
model's vocabulary of 500,000 words with vectors (SpacyNLP's doc of the message: "libre" is not
"libye", "syrien" not "syrie", "franc" not "france") or one the training examples use outside
entities. Measured against DIET and Rasa's CRF and
regex extractors in benchmarks/RESULTS.md (`python -m benchmarks.config_variants --entities`).

Matching: the text is cut into words, accent- and case-folded (bot.knowledge.textnorm); each word
that is not an entity word is replaced by the closest one within the allowed edits (found through
a deletion index, SymSpell-style), then the longest known phrase wins at each position. The trained
gazetteer is stored as JSON.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.knowledge import textnorm

logger = logging.getLogger(__name__)

_GAZETTEER_JSON = "lookup_entity_extractor.json"
# Words as the gazetteer sees them: letters and digits ("m&d" -> "m", "d"; "d'amérique" -> "d", "amerique").
_WORD = re.compile(r"\w+")


def _words(text: str) -> Iterator[tuple[str, int, int]]:
    """(folded word, start, end) for each word of the text, offsets in the original text."""
    for match in _WORD.finditer(text):
        yield textnorm.strip_accents(match.group()).lower(), match.start(), match.end()


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(word for word, _, _ in _words(text))


def _deletes(word: str, depth: int) -> set[str]:
    """The word with up to `depth` letters deleted (itself included)."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count one edit)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


@dataclass
class _Gazetteer:
    """Known phrases (folded words) -> (entity, canonical value), and the words that are not typos."""

    phrases: dict[tuple[str, ...], tuple[str, str]]
    other_words: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "phrases": [[list(words), entity, value] for words, (entity, value) in sorted(self.phrases.items())],
            "other_words": sorted(self.other_words),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Gazetteer:
        return cls(
            phrases={tuple(words): (entity, value) for words, entity, value in data["phrases"]},
            other_words=frozenset(data["other_words"]),
        )


class _Matcher:
    """Finds the gazetteer's phrases in a text (built once per loaded model)."""

    def __init__(self, gazetteer: _Gazetteer, min_length: int, long_length: int) -> None:
        self.phrases = gazetteer.phrases
        self.other_words = gazetteer.other_words
        self.min_length = min_length
        self.long_length = long_length
        self.longest = max((len(p) for p in self.phrases), default=0)
        self.entity_words = {w for p in self.phrases for w in p}
        self.index: dict[str, set[str]] = defaultdict(set)
        for word in self.entity_words:
            if len(word) >= min_length:
                for variant in _deletes(word, self._allowed(word)):
                    self.index[variant].add(word)

    def _allowed(self, word: str) -> int:
        return 2 if len(word) >= self.long_length else 1

    def correct(self, word: str, real_words: frozenset[str] = frozenset()) -> str:
        """The entity word this word stands for (itself when it is one, or when it is no typo)."""
        if (word in self.entity_words or len(word) < self.min_length or word in self.other_words
                or word in real_words):
            return word
        allowed = self._allowed(word)
        candidates = {c for v in _deletes(word, allowed) for c in self.index.get(v, ())}
        scored = sorted((_edit_distance(word, c), c) for c in candidates)
        scored = [(d, c) for d, c in scored if d <= min(allowed, self._allowed(c))]
        if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]
                          and self.phrases.get((scored[1][1],)) != self.phrases.get((scored[0][1],))):
            return word  # nothing close, or two different entities equally close: no guess
        return scored[0][1]

    def find(self, text: str, real_words: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Non-overlapping entities, the longest phrase first at each position, left to right;
        `real_words` (folded) are never taken for typos."""
        words = list(_words(text))
        corrected = [self.correct(w, real_words) for w, _, _ in words]
        found = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                hit = self.phrases.get(tuple(corrected[i:i + n]))
                if hit:
                    entity, value = hit
                    found.append({
                        ENTITY_ATTRIBUTE_TYPE: entity,
                        ENTITY_ATTRIBUTE_START: words[i][1],
                        ENTITY_ATTRIBUTE_END: words[i + n - 1][2],
                        ENTITY_ATTRIBUTE_VALUE: value,
                    })
                    i += n
                    break
            else:
                i += 1
        return found


def _real_words(message: Message) -> frozenset[str]:
    """Folded words of the message that spaCy's vocabulary knows (they have a vector): no typos."""
    doc = message.get(SPACY_DOCS[TEXT])
    if doc is None:
        return frozenset()
    return frozenset(textnorm.strip_accents(t.lower_) for t in doc if t.has_vector)


def build_gazetteer(training_data: TrainingData, entities: Iterable[str] | None = None) -> _Gazetteer:
    """Phrases from annotated examples, synonyms and lookup tables; a phrase written for two
    entities or values keeps the one the examples use most."""
    synonyms = {k.lower(): v for k, v in training_data.entity_synonyms.items()}
    wanted = set(entities) if entities else None
    votes: dict[tuple[str, ...], Counter[tuple[str, str]]] = defaultdict(Counter)
    entity_of_value: dict[str, Counter[str]] = defaultdict(Counter)
    other_words: set[str] = set()
    for message in training_data.nlu_examples:
        text = message.get(TEXT) or ""
        spans = []
        for e in message.get(ENTITIES) or []:
            value = str(e.get(ENTITY_ATTRIBUTE_VALUE, ""))
            canonical = synonyms.get(value.lower(), value)
            phrase = _phrase(text[e[ENTITY_ATTRIBUTE_START]:e[ENTITY_ATTRIBUTE_END]])
            entity = e[ENTITY_ATTRIBUTE_TYPE]
            if phrase and (wanted is None or entity in wanted):
                votes[phrase][(entity, canonical)] += 1
                entity_of_value[canonical][entity] += 1
            spans.append((e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_END]))
        other_words.update(w for w, s, end in _words(text) if not any(a <= s and end <= b for a, b in spans))
    for written, canonical in synonyms.items():
        if entity_of_value.get(canonical):
            entity = entity_of_value[canonical].most_common(1)[0][0]
            votes[_phrase(written)][(entity, canonical)] += 1
    for table in training_data.lookup_tables:
        if wanted is None or table["name"] in wanted:
            for element in table["elements"]:
                votes[_phrase(element)][(table["name"], synonyms.get(element.lower(), element))] += 1
    phrases = {p: counts.most_common(1)[0][0] for p, counts in votes.items() if p}
    entity_words = {w for p in phrases for w in p}
    return _Gazetteer(phrases=phrases, other_words=frozenset(other_words - entity_words))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LookupEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Typo-tolerant gazetteer entity extractor (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Edits allowed by word length; `entities`: which ones to extract (default: every one in the data)."""
        return {
            "entities": None,
            # Words this long may carry one typo; from long_word_length on, two.
            "min_typo_word_length": 5,
            "long_word_length": 10,
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """This code and the text folding: Rasa's training cache must not reuse a model they changed."""
        digest = hashlib.sha256()
        for module in (__file__, textnorm.__file__):
            digest.update(Path(module).read_bytes())
        return digest.hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        gazetteer: _Gazetteer | None = None,
    ) -> None:
        """Keep the settings, where to store the gazetteer, and the gazetteer if loaded."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._set(gazetteer)

    def _set(self, gazetteer: _Gazetteer | None) -> None:
        self._gazetteer = gazetteer
        self._matcher = (
            _Matcher(gazetteer, self._config["min_typo_word_length"], self._config["long_word_length"])
            if gazetteer else None
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LookupEntityExtractor:
        """An untrained extractor (Rasa calls this before `train`)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the phrases and store them."""
        gazetteer = build_gazetteer(training_data, self._config["entities"])
        if not gazetteer.phrases:
            logger.warning("LookupEntityExtractor: no entity examples, synonyms or lookup tables: nothing to find.")
        logger.info("LookupEntityExtractor: %d phrases for %s", len(gazetteer.phrases),
                    sorted({e for e, _ in gazetteer.phrases.values()}))
        self._set(gazetteer)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _GAZETTEER_JSON).write_text(
                json.dumps(gazetteer.to_json(), ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LookupEntityExtractor:
        """The stored gazetteer; an extractor that finds nothing if there is none."""
        try:
            with model_storage.read_from(resource) as directory:
                data = json.loads((directory / _GAZETTEER_JSON).read_text(encoding="utf-8"))
            return cls(config, model_storage, resource, _Gazetteer.from_json(data))
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("LookupEntityExtractor: no stored gazetteer in %s: extracting nothing.", resource.name)
            return cls(config, model_storage, resource)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the entities found to each message's entities."""
        if self._matcher is None:
            return messages
        for message in messages:
            found = self._matcher.find(message.get(TEXT) or "", _real_words(message))
            for entity in found:
                entity["confidence_entity"] = 1.0
            found = self.add_extractor_name(found)
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
