"""Safety triage: messages that tell of danger, distress, exploitation, a child alone or a medical
emergency, recognised by the editable patterns of data/knowledge/safety.yml.

Why: such a message must get help first (emergency services, a person), never a programme
description or "no information"; the same matcher runs in the Rasa pipeline (so no other rule
answers first) and in the action that replies (which picks the category's words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field, validator

from bot.knowledge.question_analysis import valid_pattern
from bot.knowledge.sms import SmsSpellings, sms_table
from bot.knowledge.textnorm import fold
from bot.knowledge.yamlio import load_yaml

SAFETY_FILE = "safety.yml"


class SafetyCategory(BaseModel):
    """One kind of urgent situation and the patterns that reveal it."""

    name: str = Field(..., regex=r"^[a-z_]+$")
    patterns: list[str] = Field(..., min_items=1)

    _check = validator("patterns", each_item=True, allow_reuse=True)(valid_pattern)


class SafetyRules(BaseModel):
    """The whole of data/knowledge/safety.yml."""

    version: int
    categories: list[SafetyCategory] = Field(..., min_items=1)
    # SMS forms written out before the patterns are tried ("chui en danger", "o secour"): the
    # table of sms_spellings.yml, so that a trigger is written once, in plain French.
    sms_spellings: dict[str, str] = {}
    # A message the intent classifier reads as a call for help (`harm_intent` among its best
    # intents) that holds one of `harm_words` is urgent too, though no trigger matched
    # ("les gardes nous frappent avec des barres de fer"): the category `harm_category`.
    harm_intent: str = "urgent_help"
    harm_words: list[str] = []
    harm_category: str = "distress"

    _harm_compiles = validator("harm_words", each_item=True, allow_reuse=True)(valid_pattern)

    class Config:
        keep_untouched = (cached_property,)

    @classmethod
    def load(cls, knowledge_dir: Path) -> SafetyRules:
        data = load_yaml(knowledge_dir / SAFETY_FILE)
        if isinstance(data, dict):
            data.setdefault("sms_spellings", sms_table(knowledge_dir))
        return cls.parse_obj(data)

    @cached_property
    def _sms(self) -> SmsSpellings:
        return SmsSpellings(self.sms_spellings)

    @cached_property
    def _compiled(self) -> list[tuple[str, list[re.Pattern[str]]]]:
        return [(c.name, [re.compile(p) for p in c.patterns]) for c in self.categories]

    @cached_property
    def _harm(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.harm_words]

    def harm_read_as_call_for_help(self, text: str, intents: tuple[str, ...]) -> SafetyMatch | None:
        """`harm_category` when the classifier's best intents hold `harm_intent` and the message a
        word of harm (safety.yml harm_words), else None."""
        if self.harm_intent not in intents:
            return None
        words = _found(self._harm, *self._readings(text))
        return SafetyMatch(self.harm_category, words) if words is not None else None

    def match(self, text: str) -> SafetyMatch | None:
        """The first category with a pattern in the message, or None."""
        readings = self._readings(text)
        for name, patterns in self._compiled:
            words = _found(patterns, *readings)
            if words is not None:
                return SafetyMatch(name, words)
        return None

    def _readings(self, text: str) -> tuple[str, str]:
        """The message folded, as typed and with its SMS forms written out."""
        return fold(text), fold(self._sms.write_out(text))


def _found(patterns: list[re.Pattern[str]], folded: str, written_out: str) -> str | None:
    """The words of the first pattern found in either reading of the message, else None."""
    for pattern in patterns:
        found = pattern.search(folded) or pattern.search(written_out)
        if found:
            return found.group(0)
    return None


@dataclass(frozen=True)
class SafetyMatch:
    """The category recognised and the words that triggered it (for tests and staff, not logs)."""

    category: str
    words: str
