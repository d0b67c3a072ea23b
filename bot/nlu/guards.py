"""Two Rasa pipeline components that guard what the intent is read from (named in config.yml).

- `InputCleaner`, first in the pipeline: control characters, HTML tags and extra spaces out, and
  a long message reduced to its question sentences (bot/knowledge/user_text.py), so "bonjour" plus a stray
  control character is a greeting and a 2,600-character story is read from its question.
- `SafetyGuard`, last: a message that tells of danger, distress, exploitation, a child alone or
  a medical emergency (data/knowledge/safety.yml) becomes intent `urgent_help` whatever the
  classifier said, so no other rule answers it first; a message without a letter or digit ("?",
  "...", an emoji) becomes `nlu_fallback` (the assistant asks to rephrase) instead of a guess; so
  does a question read as a greeting because it opens with one, or as a goodbye or thanks (the
  fallback answers it).

Why components: they are Rasa's plug-in point for the NLU; every channel goes through them.
The UserUttered event keeps the original text (Rasa stores it), the actions clean it the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.knowledge import paths
from bot.knowledge.safety import SafetyRules
from bot.knowledge.user_text import clean_user_text, focus, has_words

URGENT_INTENT = "urgent_help"
# Where InputCleaner keeps the whole cleaned message for SafetyGuard (not part of the output).
FULL_TEXT = "oim_full_text"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class InputCleaner(GraphComponent):
    """Cleans the text of incoming messages before spaCy and the featurizers read it."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputCleaner:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples are left as written: their entity offsets refer to that text."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            cleaned = clean_user_text(text)
            message.set(FULL_TEXT, cleaned)
            message.set(TEXT, focus(cleaned) or cleaned or text)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyGuard(GraphComponent):
    """Overrides the intent for urgent messages and for messages without a word."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"knowledge_dir": None}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyGuard:
        folder = Path(config["knowledge_dir"]) if config.get("knowledge_dir") else paths.knowledge_dir()
        return cls(SafetyRules.load(folder))

    def __init__(self, rules: SafetyRules) -> None:
        self.rules = rules

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(FULL_TEXT) or message.get(TEXT) or ""
            if not isinstance(text, str):
                continue
            if self.rules.match(text) is not None:
                _set_intent(message, URGENT_INTENT)
            elif not has_words(text) or _question_read_as_greeting(message, text):
                _set_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
        return messages


# A greeting is a few words ("bonjour", "Bonjour madame, comment allez-vous ?"); more, with a question
# mark, is a question opened by one ("Bonjour, combien coûte un regroupement familial avec l'OIM ?").
GREETING_MAX_WORDS = 6
# Shorter, a greeting asking what the pages answer is a question too ("bonjour c'est quoi l'OIM ?",
# "slt c koi loim"), unless it asks how one is ("salut ça va ?", "bonjour, vous allez bien ?").
_ASKS_THE_PAGES = re.compile(
    r"\b(?:c.?est (?:quoi|koi|qui)|c (?:quoi|koi)|qu.?est.ce que?|combien|pourquoi|quand|quel(?:le)?s?|"
    r"o[uù] (?:est|se trouve|sont|trouver|aller|ecrire|écrire))\b",
    re.IGNORECASE,
)
_HOW_ONE_IS = re.compile(r"\b(?:allez|vas|va|cv|bien ou quoi)\b", re.IGNORECASE)
# A leave-taking or thanks never asks "quoi ?" ("et ça a donné quoi à la fin ?" is no goodbye).
_ASKS_WHAT = re.compile(r"\b(?:quoi|koi|comment|cmt|où)\b", re.IGNORECASE)
LEAVE_TAKING = frozenset({"goodbye", "thanks"})
# ...and is a few words: a long message with a question mark, read as thanks for its "merci beaucoup"
# at the end, is a question ("... est-ce que c'est vrai que ce truc a été établi en 2003 ? voilà merci").
LEAVE_TAKING_MAX_WORDS = 12
# ...and never carries on what was said with a question ("et cinq ans plus tard ?" is no "à plus tard").
_CARRIES_ON = re.compile(r"^\W*(?:et|mais|puis|alors)\b", re.IGNORECASE)


def _question_read_as_greeting(message: Message, text: str) -> bool:
    """Whether the classifier read as a greeting, goodbye or thanks a question that only opens with
    one or merely shares its words ("à la fin"): it is then answered as a question (the fallback
    reads the pages), not only greeted or bid farewell."""
    intent = message.get(INTENT) or {}
    if intent.get(INTENT_NAME_KEY) in LEAVE_TAKING:
        return bool(_ASKS_THE_PAGES.search(text)) or (
            "?" in text
            and (
                bool(_ASKS_WHAT.search(text) or _CARRIES_ON.match(text))
                or _word_count(text) > LEAVE_TAKING_MAX_WORDS
            )
        )
    if intent.get(INTENT_NAME_KEY) != "greet":
        return False
    asks = bool(_ASKS_THE_PAGES.search(text))
    if _HOW_ONE_IS.search(text) and not asks:
        return False  # "bonjour, est-ce que vous allez bien ?"
    return asks or ("?" in text and _word_count(text) > GREETING_MAX_WORDS)


def _word_count(text: str) -> int:
    """How many words (letters only) the message has."""
    return len(re.findall(r"[^\W\d_]+", text))


def _set_intent(message: Message, name: str) -> None:
    """Make `name` the intent with full confidence, first in the ranking."""
    intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
