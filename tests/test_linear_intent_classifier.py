"""bot.nlu.linear_intent_classifier on Rasa's real spaCy components and part of our own NLU data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.knowledge.paths import repo_root
from bot.nlu.linear_intent_classifier import LinearIntentClassifier, script_words

INTENTS = (
    "ask_voluntary_return",
    "ask_repatriation",
    "ask_programme_eligibility",
    "ask_how_to_apply",
    "out_of_scope",
    "greet",
    "other_language",
)


class Pipeline:
    """SpacyNLP + SpacyTokenizer + SpacyFeaturizer as config.yml sets them, then our classifier."""

    def __init__(self, storage_dir: Path) -> None:
        from rasa.engine.graph import ExecutionContext, GraphSchema
        from rasa.engine.storage.local_model_storage import LocalModelStorage
        from rasa.engine.storage.resource import Resource
        from rasa.nlu.featurizers.dense_featurizer.spacy_featurizer import SpacyFeaturizer
        from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
        from rasa.nlu.utils.spacy_utils import SpacyNLP

        self.storage = LocalModelStorage(storage_dir)
        self.context = ExecutionContext(GraphSchema({}), "test")
        self.resource = Resource("linear_intent_classifier")

        def make(cls: Any, name: str, **config: Any) -> Any:
            return cls.create({**cls.get_default_config(), **config}, self.storage, Resource(name), self.context)

        self.nlp = make(SpacyNLP, "nlp", model="fr_core_news_md", case_sensitive=False)
        self.spacy_model = self.nlp.provide()
        self.tokenizer = make(SpacyTokenizer, "tokenizer")
        self.featurizer = make(SpacyFeaturizer, "featurizer", pooling="mean")

    def featurize_training(self, training_data: Any) -> Any:
        self.nlp.process_training_data(training_data, self.spacy_model)
        self.tokenizer.process_training_data(training_data)
        self.featurizer.process_training_data(training_data)
        return training_data

    def parse(self, classifier: LinearIntentClassifier, texts: list[str]) -> list[Any]:
        from rasa.shared.nlu.training_data.message import Message

        messages = [Message(data={"text": text}) for text in texts]
        self.nlp.process(messages, self.spacy_model)
        self.tokenizer.process(messages)
        self.featurizer.process(messages)
        return classifier.process(messages)

    def new_classifier(self, **config: Any) -> LinearIntentClassifier:
        return LinearIntentClassifier.create(config, self.storage, self.resource, self.context)

    def load_classifier(self) -> LinearIntentClassifier:
        return LinearIntentClassifier.load({}, self.storage, self.resource, self.context)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("model_storage"))


@pytest.fixture(scope="module")
def split() -> tuple[Any, list[Any]]:
    """Four fifths of six intents' examples from data/nlu to train on, the other fifth to test."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = [m for m in load_data(str(repo_root() / "data" / "nlu")).intent_examples if m.get("intent") in INTENTS]
    train = [m for number, m in enumerate(examples) if number % 5]
    test = [m for number, m in enumerate(examples) if not number % 5]
    return TrainingData(training_examples=train), test


@pytest.fixture(scope="module")
def trained(pipeline: Pipeline, split: tuple[Any, list[Any]]) -> LinearIntentClassifier:
    training_data, _ = split
    classifier = pipeline.new_classifier()
    classifier.train(pipeline.featurize_training(training_data))
    return classifier


def test_held_out_messages_are_classified_with_calibrated_confidences(
    pipeline: Pipeline, trained: LinearIntentClassifier, split: tuple[Any, list[Any]]
) -> None:
    _, test = split
    parsed = pipeline.parse(trained, [m.get("text") for m in test])
    gold = [m.get("intent") for m in test]
    predicted = [m.get("intent")["name"] for m in parsed]
    confidences = np.array([m.get("intent")["confidence"] for m in parsed])
    right = np.array([p == g for p, g in zip(predicted, gold, strict=True)])
    assert right.mean() > 0.85, right.mean()
    # Calibrated: the mean confidence is how often the classifier is right (an uncalibrated SVM
    # margin or softmax is far off), and confident answers are nearly always right.
    assert abs(confidences.mean() - right.mean()) < 0.05, (confidences.mean(), right.mean())
    assert right[confidences >= 0.9].mean() > 0.95
    for message in parsed:
        ranking = message.get("intent_ranking")
        values = [entry["confidence"] for entry in ranking]
        assert ranking[0] == message.get("intent")
        assert values == sorted(values, reverse=True)
        assert {entry["name"] for entry in ranking} == set(INTENTS)  # 7 intents < ranking length 10
        assert sum(values) == pytest.approx(1.0)


def test_sms_spellings_and_typos(pipeline: Pipeline, trained: LinearIntentClassifier) -> None:
    parsed = pipeline.parse(trained, ["slt", "je ve rentré ché moi en guiné", "c pour ki ce programme"])
    assert [m.get("intent")["name"] for m in parsed] == ["greet", "ask_voluntary_return", "ask_programme_eligibility"]


def test_sms_forms_are_written_out_with_the_table_kept_in_the_model(
    pipeline: Pipeline, trained: LinearIntentClassifier, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An SMS message and its written-out form get nearly the same ranking (only spaCy's sentence
    # vector still reads the typed words): the n-grams are read after the table of sms_spellings.yml,
    # the one stored in the model at training time...
    sms, plain = "jveu rentre ché moi c koi le programme", "je veux rentre ché moi c'est quoi le programme"
    one, other = (m.get("intent_ranking") for m in pipeline.parse(trained, [sms, plain]))
    assert [e["name"] for e in one[:2]] == [e["name"] for e in other[:2]]
    assert one[0]["confidence"] == pytest.approx(other[0]["confidence"], abs=0.05)
    with pipeline.storage.read_from(pipeline.resource) as directory:
        stored = json.loads((directory / "linear_intent_classifier.json").read_text(encoding="utf-8"))
    assert stored["sms_spellings"]["koi"] == "quoi"
    # ...not the knowledge folder's table at run time (a staged copy may differ).
    monkeypatch.setenv("OIM_KNOWLEDGE_DIR", str(tmp_path))
    loaded = pipeline.parse(pipeline.load_classifier(), [sms])[0].get("intent_ranking")
    assert [e["confidence"] for e in loaded] == pytest.approx([e["confidence"] for e in one], abs=1e-5)


def test_other_scripts_are_another_language(pipeline: Pipeline, trained: LinearIntentClassifier) -> None:
    # Chinese, Tigrinya and Arabic script: "I want to go home", "I need help", "thank you".
    parsed = pipeline.parse(trained, ["我要回家", "ሓገዝ ይደሊ", "شكرا جزيلا"])
    assert [m.get("intent")["name"] for m in parsed] == ["other_language"] * 3
    assert script_words("Merci, 谢谢 et شكرا") == ["zzscriptarabic", "zzscriptcjk", "zzscriptnonlatin"]
    assert script_words("Yémen, œuvre, ça") == []


def test_text_without_any_known_feature_has_no_preferred_intent(
    pipeline: Pipeline, trained: LinearIntentClassifier
) -> None:
    # Symbols: no word, no n-gram and no spaCy vector the model knows.
    for message in pipeline.parse(trained, ["\u2031", "\u237c\u237c"]):
        confidences = [entry["confidence"] for entry in message.get("intent_ranking")]
        assert confidences == pytest.approx([1 / len(INTENTS)] * len(INTENTS))  # below any fallback threshold


def test_stored_model_is_json_and_arrays_and_loads_to_the_same_predictions(
    pipeline: Pipeline, trained: LinearIntentClassifier, split: tuple[Any, list[Any]]
) -> None:
    with pipeline.storage.read_from(pipeline.resource) as directory:
        names = sorted(path.name for path in directory.iterdir())
        settings = json.loads((directory / "linear_intent_classifier.json").read_text(encoding="utf-8"))
        np.load(directory / "linear_intent_classifier.npz", allow_pickle=False).close()
    assert names == ["linear_intent_classifier.json", "linear_intent_classifier.npz"]
    assert sorted(settings["intents"]) == sorted(INTENTS) and settings["vector_size"] == 300
    texts = [m.get("text") for m in split[1]][:40] + ["\U0001f600", "hello, do you speak english?"]
    before = [m.get("intent_ranking") for m in pipeline.parse(trained, texts)]
    after = [m.get("intent_ranking") for m in pipeline.parse(pipeline.load_classifier(), texts)]
    for old, new in zip(before, after, strict=True):
        assert [e["name"] for e in old] == [e["name"] for e in new]
        assert [e["confidence"] for e in old] == pytest.approx([e["confidence"] for e in new], abs=1e-5)


def test_turn_scorer_gives_the_margins_of_the_sklearn_features(
    pipeline: Pipeline, trained: LinearIntentClassifier, split: tuple[Any, list[Any]]
) -> None:
    """The per-turn path (issue 18: no sklearn transform per message) against the training path."""
    from bot.nlu.linear_intent_classifier import _features, _margins, _Scorer

    texts = [m.get("text") for m in split[1]] + [
        "", "\u2031", "kan c cree loim", "ÉTATS-UNIS ?? rentrer rentrer rentrer", "bonjour " * 40, "ሰላም እንዴት ነህ"]
    for classifier in (trained, pipeline.load_classifier()):
        model = classifier._model
        messages = pipeline.parse(classifier, texts)
        expected_features = _features(model.words, model.chars, model.vector_size, messages, model.sms, fit=False)
        expected = _margins(expected_features, model.weights, model.bias)
        margins, present = _Scorer(model).margins(messages)
        np.testing.assert_allclose(margins, expected, rtol=1e-9, atol=1e-9)
        assert present.tolist() == expected_features.getnnz(axis=1).tolist()
        assert present[texts.index("")] == 0 and present[texts.index("bonjour " * 40)] > 0


def test_untrained_or_missing_model_leaves_messages_alone(pipeline: Pipeline, tmp_path: Path) -> None:
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    empty = LinearIntentClassifier.load({}, LocalModelStorage(tmp_path), Resource("nothing"), pipeline.context)
    (message,) = pipeline.parse(empty, ["bonjour"])
    assert message.get("intent") is None


def test_fingerprint_covers_the_code() -> None:
    first = LinearIntentClassifier.fingerprint_addon({})
    assert first and first == LinearIntentClassifier.fingerprint_addon({}) and len(first) == 64
