"""What users type, made readable for the assistant: control characters, HTML and long stories.

Why: "bonjour" followed by a stray control character was read as "au revoir", "<b>bonjour</b>" as
HTML, and a 2,600-character story got no answer at all. The same cleaning runs in the Rasa pipeline
(bot/nlu/guards.py, what the intent is read from) and in the actions (what the answer is
searched with), so both read the same text whatever the channel.
"""

from __future__ import annotations

import re
import unicodedata

# Longer messages are answered from their question sentences (a story told before the question).
LONG_MESSAGE_CHARS = 400
# What is kept of a long message: its last question sentences, up to this many characters.
FOCUS_CHARS = 300

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_QUESTION_WORDS = re.compile(
    r"\b(?:comment|combien|pourquoi|quand|qui|quel|quelle|quels|quelles|o[uù]|est-ce|puis-je|"
    r"peux-je|pouvez-vous|peut-on|aidez|aider|svp|s'il vous pla[iî]t)\b",
    re.IGNORECASE,
)


def clean_user_text(text: str) -> str:
    """Control and format characters out, HTML tags out, whitespace folded, lone surrogates fixed."""
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch == "\n":
            kept.append(ch)
        elif category in ("Cc", "Cf", "Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(ch)
    text = _TAG.sub(" ", "".join(kept))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def has_words(text: str) -> bool:
    """Whether the text holds a letter or digit (a lone "?", "..." or emoji does not)."""
    return any(ch.isalnum() for ch in text)


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines), each with its final punctuation, stripped."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def focus(text: str, limit: int = LONG_MESSAGE_CHARS, keep: int = FOCUS_CHARS) -> str:
    """A long message reduced to its last question sentences (else its last sentences).

    Short messages are returned as they are.
    """
    if len(text) <= limit:
        return text
    found = sentences(text)
    questions = [s for s in found if "?" in s or _QUESTION_WORDS.search(s)]
    chosen: list[str] = []
    for sentence in reversed(questions or found):
        if chosen and sum(len(s) for s in chosen) + len(sentence) > keep:
            break
        chosen.insert(0, sentence[-keep:] if len(sentence) > keep else sentence)
    return " ".join(chosen)
