"""Intent classifier for config.yml: a linear SVM on TF-IDF n-grams and spaCy sentence vectors.

Why: on our 5,915 short French messages, Rasa's 5-fold cross-validation gives this model an
intent macro-F1 of 0.952-0.953 against 0.917 for DIET, and it trains in ~6 s instead of ~2 minutes
of DIET epochs (benchmarks/RESULTS.md). Short messages with typos and SMS spellings are separated best by
character n-grams inside words, word 1-2-grams and the spaCy vectors together; a linear model on
them needs few examples per intent and no GPU. SMS forms are written out first, with the table of
data/knowledge/sms_spellings.yml kept in the trained model ("kan c cree loim" shares the n-grams of "quand a été créée
l'OIM"): +4 items of the held-out QA set.

Confidences: an SVM gives margins, not probabilities, and FallbackClassifier needs a confidence
that means "how often is this right". The margins go through a softmax with one temperature,
fitted on held-out margins of the training data (k-fold inside `train`): in cross-validation the
messages given 0.9-1.0 are right 98.5 % of the time, those given 0.5-0.6 about 65 %.

The trained model is stored as JSON (vocabularies, settings) and NumPy arrays loaded with
`allow_pickle=False`: loading a model never runs code from the model file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix, hstack
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.knowledge import paths, textnorm
from bot.knowledge import sms as sms_module
from bot.knowledge.sms import SmsSpellings, sms_table

logger = logging.getLogger(__name__)

_MODEL_JSON = "linear_intent_classifier.json"
_MODEL_ARRAYS = "linear_intent_classifier.npz"
# Words of one letter count ("c pour qui", "j'ai", "t ou") : SMS French is full of them.
_WORD_TOKENS = r"(?u)\b\w+\b"


@dataclass
class _Model:
    """What a trained classifier is: two vectorizers, one weight row per intent, a temperature."""

    words: TfidfVectorizer
    chars: TfidfVectorizer
    vector_size: int  # size of the pipeline's sentence vector, 0 if the pipeline has none
    intents: list[str]
    weights: np.ndarray  # (intents, features)
    bias: np.ndarray  # (intents,)
    temperature: float
    sms: SmsSpellings  # the SMS forms written out before the n-grams, as at training time


def _vectorizers(config: dict[str, Any]) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, config["max_word_ngram"]),
        token_pattern=_WORD_TOKENS,
        sublinear_tf=True,
        lowercase=False,  # the text is folded first
    )
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(config["min_char_ngram"], config["max_char_ngram"]),
        min_df=config["char_min_df"],
        sublinear_tf=True,
        lowercase=False,
    )
    return words, chars


def script_words(text: str) -> list[str]:
    """One word per non-Latin writing system in the text, and one for any of them.

    Why: a message in Chinese, Tigrinya or Arabic script shares no n-gram or spaCy vector with the
    few such training examples (their n-grams are too rare to keep), so without these words it
    has no feature at all; with them it is recognised as another language.
    """
    names = (unicodedata.name(ch, "LATIN") for ch in text if ch.isalpha())  # unnamed: as Latin
    systems = {name.split()[0].lower() for name in names if not name.startswith("LATIN")}
    return [f"zzscript{system}" for system in sorted(systems)] + (["zzscriptnonlatin"] if systems else [])


def _texts(messages: list[Message], sms: SmsSpellings) -> list[str]:
    """Folded texts with SMS forms written out ("kan c cree loim" reads as "quand c'est cree
    l'OIM": the n-grams of the many plain-French examples count for it) and script words."""
    texts = []
    for message in messages:
        text = message.get(TEXT) or ""
        texts.append(" ".join([textnorm.fold(sms.write_out(text)), *script_words(text)]))
    return texts


def _vector_size(messages: list[Message]) -> int:
    """Size of the pipeline's dense sentence features (SpacyFeaturizer's mean vector), or 0."""
    for message in messages:
        _, sentence = message.get_dense_features(TEXT)
        if sentence is not None:
            return int(np.asarray(sentence.features).size)
    return 0


def _sentence_vectors(messages: list[Message], size: int) -> np.ndarray:
    """L2-normalised sentence vectors; zeros for a message without one (e.g. empty text)."""
    vectors = np.zeros((len(messages), size))
    for row, message in enumerate(messages):
        _, sentence = message.get_dense_features(TEXT)
        if sentence is not None:
            vector = np.asarray(sentence.features, dtype=np.float64).reshape(-1)
            norm = np.linalg.norm(vector)
            if vector.size == size and norm > 0:
                vectors[row] = vector / norm
    return vectors


def _features(
    words: TfidfVectorizer,
    chars: TfidfVectorizer,
    vector_size: int,
    messages: list[Message],
    sms: SmsSpellings,
    fit: bool,
) -> csr_matrix:
    texts = _texts(messages, sms)
    blocks = [
        words.fit_transform(texts) if fit else words.transform(texts),
        chars.fit_transform(texts) if fit else chars.transform(texts),
    ]
    if vector_size:
        blocks.append(csr_matrix(_sentence_vectors(messages, vector_size)))
    return hstack(blocks).tocsr()


def _margins(features: csr_matrix, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return np.asarray(features @ weights.T) + bias


class _Scorer:
    """The margins `_features` + `_margins` give, for the few messages of a conversation turn.

    Why: for one short message, sklearn's transform and scipy's sparse matrices spend ~1.5 ms in
    checks and conversions around ~0.1 ms of arithmetic (issue 18). This reads the same text
    with the vectorizers' own analyzers, vocabularies and idf weights and applies the same
    TF-IDF (sublinear tf, l2 norm per block) directly to the weight rows of the words found.
    tests/test_linear_intent_classifier.py checks both give the same margins."""

    def __init__(self, model: _Model) -> None:
        self._blocks = []
        offset = 0
        for vectorizer in (model.words, model.chars):
            vocabulary = getattr(vectorizer, "vocabulary_", None) or dict(vectorizer.vocabulary)
            self._blocks.append((vectorizer.build_analyzer(), vocabulary, np.asarray(vectorizer.idf_), offset))
            offset += len(vocabulary)
        self._vector_rows = slice(offset, offset + model.vector_size)
        self._rows = np.ascontiguousarray(model.weights.T)  # one row of intent weights per feature
        self._bias = model.bias
        self._sms = model.sms
        self._vector_size = model.vector_size

    def margins(self, messages: list[Message]) -> tuple[np.ndarray, np.ndarray]:
        """(margins per message and intent, number of features present per message)."""
        texts = _texts(messages, self._sms)
        vectors = _sentence_vectors(messages, self._vector_size) if self._vector_size else None
        margins = np.tile(self._bias, (len(messages), 1))
        present = np.zeros(len(messages), dtype=int)
        for row, text in enumerate(texts):
            for analyzer, vocabulary, idf, offset in self._blocks:
                counts: dict[int, int] = {}
                for term in analyzer(text):
                    column = vocabulary.get(term)
                    if column is not None:
                        counts[column] = counts.get(column, 0) + 1
                if not counts:
                    continue
                columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
                values = (np.log(np.fromiter(counts.values(), dtype=float, count=len(counts))) + 1.0) * idf[columns]
                values /= np.linalg.norm(values)
                margins[row] += values @ self._rows[columns + offset]
                present[row] += len(counts)
            if vectors is not None:
                margins[row] += vectors[row] @ self._rows[self._vector_rows]
                present[row] += int(np.count_nonzero(vectors[row]))
        return margins, present


def _fit_svm(
    config: dict[str, Any], messages: list[Message], labels: np.ndarray, vector_size: int, sms: SmsSpellings
) -> tuple[TfidfVectorizer, TfidfVectorizer, list[str], np.ndarray, np.ndarray]:
    words, chars = _vectorizers(config)
    features = _features(words, chars, vector_size, messages, sms, fit=True)
    svm = LinearSVC(C=config["C"], random_state=config["random_seed"])
    svm.fit(features, labels)
    weights, bias = svm.coef_, svm.intercept_
    if len(svm.classes_) == 2:  # sklearn gives one row for two classes: make it two
        weights, bias = np.vstack([-weights, weights]), np.concatenate([-bias, bias])
    return words, chars, list(svm.classes_), weights, bias


def _fit_temperature(margins: np.ndarray, labels: np.ndarray, intents: list[str]) -> float:
    """The softmax temperature that makes held-out confidences match how often they are right."""
    rows = np.arange(len(labels))
    columns = np.searchsorted(np.array(intents), labels)

    def loss(temperature: float) -> float:
        return float(-log_softmax(margins * temperature, axis=1)[rows, columns].mean())

    return float(minimize_scalar(loss, bounds=(0.1, 100.0), method="bounded").x)


def _held_out_margins(
    config: dict[str, Any],
    messages: list[Message],
    labels: np.ndarray,
    intents: list[str],
    vector_size: int,
    sms: SmsSpellings,
) -> np.ndarray | None:
    """Margins of each training message from a model that did not see it (k-fold)."""
    folds = min(config["calibration_folds"], int(np.unique(labels, return_counts=True)[1].min()))
    if folds < 2:
        return None
    splitter = StratifiedKFold(folds, shuffle=True, random_state=config["random_seed"])
    margins = np.zeros((len(labels), len(intents)))
    for train_rows, test_rows in splitter.split(np.zeros(len(labels)), labels):
        train_labels = labels[train_rows]
        if len(np.unique(train_labels)) != len(intents):
            return None
        words, chars, _, weights, bias = _fit_svm(
            config, [messages[i] for i in train_rows], train_labels, vector_size, sms
        )
        held_out = [messages[i] for i in test_rows]
        features = _features(words, chars, vector_size, held_out, sms, fit=False)
        margins[test_rows] = _margins(features, weights, bias)
    return margins


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Linear SVM intent classifier with calibrated confidences (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Settings measured in 5-fold cross-validation on data/nlu (benchmarks/RESULTS.md)."""
        return {
            "C": 1.0,
            "max_word_ngram": 2,
            "min_char_ngram": 2,
            "max_char_ngram": 5,
            "char_min_df": 2,
            "calibration_folds": 3,
            # Used when the temperature cannot be fitted (too few examples per intent).
            "default_temperature": 6.0,
            "ranking_length": LABEL_RANKING_LENGTH,
            "random_seed": 42,
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """This code, the text folding and the SMS table: Rasa's training cache must not reuse a model they changed."""
        digest = hashlib.sha256()
        for module in (__file__, textnorm.__file__, sms_module.__file__):
            digest.update(Path(module).read_bytes())
        digest.update(json.dumps(sms_table(paths.knowledge_dir()), sort_keys=True).encode())
        return digest.hexdigest()

    @staticmethod
    def required_packages() -> list[str]:
        """sklearn and scipy come with Rasa."""
        return ["sklearn", "scipy"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: _Model | None = None,
    ) -> None:
        """Keep the settings, where to store the model, and the trained model if loaded."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._scorer: _Scorer | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        """An untrained classifier (Rasa calls this before `train`)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the SVM on every intent example, then the temperature on held-out margins."""
        messages = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        labels = np.array([m.get(INTENT) for m in messages])
        if len(np.unique(labels)) < 2:
            logger.warning("LinearIntentClassifier needs at least two intents: not trained.")
            return self._resource
        vector_size = _vector_size(messages)
        sms = SmsSpellings(sms_table(paths.knowledge_dir()))
        words, chars, intents, weights, bias = _fit_svm(self._config, messages, labels, vector_size, sms)
        held_out = _held_out_margins(self._config, messages, labels, intents, vector_size, sms)
        temperature = (
            _fit_temperature(held_out, labels, intents)
            if held_out is not None
            else float(self._config["default_temperature"])
        )
        logger.info(
            "LinearIntentClassifier: %d intents, %d features, temperature %.2f",
            len(intents), weights.shape[1], temperature,
        )
        self._model = _Model(
            words=words,
            chars=chars,
            vector_size=vector_size,
            intents=intents,
            weights=weights,
            bias=bias,
            temperature=temperature,
            sms=sms,
        )
        self._scorer = None
        self._persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `intent` and `intent_ranking` on each message (confidences sum to 1)."""
        if self._model is None or not messages:
            return messages
        model = self._model
        if self._scorer is None:
            self._scorer = _Scorer(model)
        margins, present = self._scorer.margins(messages)
        probabilities = softmax(margins * model.temperature, axis=1)
        # No known word, n-gram, script or vector (empty text, unseen symbols): no evidence at all.
        probabilities[present == 0] = 1.0 / len(model.intents)
        length = self._config["ranking_length"]
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")
            ranking = [{"name": model.intents[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[:length] if length > 0 else ranking, add_to_output=True)
        return messages

    def _persist(self) -> None:
        model = self._model
        assert model is not None
        settings = {
            "intents": model.intents,
            "vector_size": model.vector_size,
            "temperature": model.temperature,
            "word_vocabulary": {term: int(i) for term, i in model.words.vocabulary_.items()},
            "char_vocabulary": {term: int(i) for term, i in model.chars.vocabulary_.items()},
            "sms_spellings": model.sms.table,
        }
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _MODEL_JSON).write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
            np.savez_compressed(
                directory / _MODEL_ARRAYS,
                weights=model.weights.astype(np.float32),
                bias=model.bias.astype(np.float32),
                word_idf=model.words.idf_,
                char_idf=model.chars.idf_,
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        """Rebuild the trained classifier from JSON and arrays; untrained if nothing was stored."""
        try:
            with model_storage.read_from(resource) as directory:
                settings = json.loads((directory / _MODEL_JSON).read_text(encoding="utf-8"))
                with np.load(directory / _MODEL_ARRAYS, allow_pickle=False) as arrays:
                    stored = {name: arrays[name] for name in arrays.files}
        except (ValueError, FileNotFoundError):
            logger.debug("LinearIntentClassifier: no trained model in '%s'.", resource.name)
            return cls(config, model_storage, resource)
        words, chars = _vectorizers({**cls.get_default_config(), **config})
        words.set_params(vocabulary=settings["word_vocabulary"])
        chars.set_params(vocabulary=settings["char_vocabulary"])
        words.idf_, chars.idf_ = stored["word_idf"], stored["char_idf"]
        model = _Model(
            words=words,
            chars=chars,
            vector_size=int(settings["vector_size"]),
            intents=list(settings["intents"]),
            weights=stored["weights"].astype(np.float64),
            bias=stored["bias"].astype(np.float64),
            temperature=float(settings["temperature"]),
            sms=SmsSpellings(settings.get("sms_spellings") or {}),
        )
        return cls(config, model_storage, resource, model)
