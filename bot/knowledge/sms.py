"""SMS forms written out ("c koi" -> "c'est quoi", "chui" -> "je suis", "o secour" -> "au secour").

Why: the question cues, the search and the safety triggers are written once in plain French; the
table of SMS forms (data/knowledge/sms_spellings.yml) is applied before any of them reads a message.
A table and not spelling distance: these forms are 1 to 3 letters away from several French words
at once ("ki", "o", "d"); only their usual meaning is safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bot.knowledge.textnorm import fold
from bot.knowledge.yamlio import load_yaml

# The table, read by the question analysis, the safety triggers and the intent classifier (which
# keeps it in the trained model: a file of its own, so that editing the other rules retrains nothing).
SMS_FILE = "sms_spellings.yml"


def sms_table(knowledge_dir: Path) -> dict[str, str]:
    """The SMS forms of the knowledge folder and what they stand for (empty without the file)."""
    path = knowledge_dir / SMS_FILE
    data = load_yaml(path) if path.exists() else None
    table = data.get("sms_spellings") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}


class SmsSpellings:
    """A table of SMS forms and the words they stand for, applied to whole words."""

    def __init__(self, table: Mapping[str, str]) -> None:
        from spacy.lang.fr.stop_words import STOP_WORDS

        self.table = dict(table)
        self._table = {fold(w): spelled for w, spelled in table.items()}
        # "sé" stands for "c'est" typed with or without its accent, but "se" and "ce" are words
        # of their own ("qu'est-ce qui", "se produit"): an accent-free form that is one is left.
        forms = {w.lower() for w in table}
        forms |= {fold(w) for w in table if fold(w) == w.lower() or fold(w) not in STOP_WORDS}
        # A form of three letters or more may follow an elided article ("l'OMS", "d'unhcr"); a
        # shorter one never does ("c'", "d'" are French, not SMS).
        short = sorted((re.escape(form) for form in forms if len(form) < 3), key=len, reverse=True)
        long = sorted((re.escape(form) for form in forms if len(form) >= 3), key=len, reverse=True)
        alternatives = [rf"(?<!\w)(?:{'|'.join(long)})" if long else "", rf"(?<![\w'’])(?:{'|'.join(short)})" if short else ""]
        pattern = "|".join(a for a in alternatives if a)
        self._pattern = re.compile(rf"(?:{pattern})(?![\w'’])", re.IGNORECASE) if pattern else None

    def write_out(self, text: str) -> str:
        """The text with its SMS forms written out ("cb d pers" -> "combien de personnes")."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._table.get(fold(m.group(0)), m.group(0)), text)
