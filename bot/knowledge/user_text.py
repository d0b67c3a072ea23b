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

_WORD = re.compile(r"[^\W\d_]+")
# A letter typed three times or more is one letter ("bonjourrrr", "depuiiiis quand ???"): French
# writes none three times in a row ("www." of an address aside).
_STRETCHED = re.compile(r"(?!w)([^\W\d_])\1{2,}", re.IGNORECASE)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
# A script or style element is code, not what the user says: its content goes with its tags.
_CODE_ELEMENT = re.compile(r"<\s*(script|style)\b[^<>]{0,200}>.{0,2000}?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
# "quoi???!!!???", "depuis quand?!?!": one question mark (one "!" when no "?" was typed), as the
# classifier saw questions written; a run mixing both read as its own word tipped the intent.
_PUNCTUATION_RUN = re.compile(r"[ \t]*[?!][?! \t]*[?!]")
# Symbols typed in a run are decoration, not words ("###test###", "@@##", "$$", ";;;", ">> ... <<",
# "~~", "///"; not the "://" of an address): read as "#test", ";" or ">" they became a hashtag, a
# clause break or a quotation. Sentence marks of their own (";", ":", "-") only three times or more.
_DECORATION = re.compile(r"(?<!:)[#@$%^&*~=<>_|/\\+]{2,}|([;:-])\1{2,}")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_QUESTION_WORDS = re.compile(
    r"\b(?:comment|combien|pourquoi|quand|qui|quel|quelle|quels|quelles|o[uù]|est-ce|puis-je|"
    r"peux-je|pouvez-vous|peut-on|aidez|aider|svp|s'il vous pla[iî]t)\b",
    re.IGNORECASE,
)


# Words that announce the question after a story ("... enfin bref ma question c'est : ...", "...,
# je voulais savoir ..."): what comes before them tells, what follows asks.
_ANNOUNCES_QUESTION = re.compile(
    r"\b(?:(?:enfin|bon|en)[ ,]+)?bref\b[ ,:]*(?:ma question (?:c'?est|est)\b)?|\bma question (?:c'?est|est|:)|"
    r"\bje (?:voulais|voudrais|veux|voulait) (?:savoir|demander)\b",
    re.IGNORECASE,
)
# ...when that much was told before them (shorter: "bref, c'est quoi l'OIM ?" is all question).
STORY_BEFORE_QUESTION_CHARS = 120

# A question relayed for someone else ("la dame demande si ...", "mon client veut savoir ...", "la
# personne que je traduis demande ..."): who asks is no point of the question ("les documents ne
# mentionnent pas « dame »"), what follows is the question. Read at the start of the message (after
# greetings), or after a story ("... on attend à la préfecture, alors là il me demande : ...").
_GREETINGS = r"(?:(?:re-?)?(?:bonjour|bonsoir|salut|slt|bjr|cc|coucou|hello)\b[\s,!.]*)*"
_RELAY_ASKER = (
    r"(?:(?:la|une|cette|le|un|ce|mon|mn|ma|son|sa|notre|leur)\s+(?:jeune\s+)?[^\W\d_]{3,}"
    r"|(?:les|des|mes|ses|nos|leurs)\s+[^\W\d_]{3,}|il|elle|ils|elles)"
)
# "demande" takes what follows only after "si", "que", a colon or a question word ("demande combien
# ..."), not an object ("ils demandent une rançon", "la demande d'adhésion"); "veut savoir", "dmd" take
# anything after them.
_RELAY_THEN = (
    r"(?:\s*[:,]\s*|\s+(?:(?:si|que|ce que)\b\s*|s'(?=ils?\b)|qu'|ce qu')|\s+(?=(?:combien|quand|quel|quelle|quels|quelles"
    r"|comment|pourquoi|o[uù]|d.o[uù]|[àa] quoi|en quel\w*|depuis|sur quel\w*|pour quel\w*|dans quel\w*|de quel\w*|qui|quoi"
    r"|c.est (?:quoi|qui)|est-ce|pk|cb|cmt|ki|koi|kel\w*|c koi|c ki|selon|d.apr[èe]s)\b))"
)
_RELAY_VERB = (
    r"(?:(?:me|nous|vous|se)\s+)?(?:(?:demande|demandent)\b" + _RELAY_THEN
    + r"|(?:dmd|dmde|dmnd|pose (?:la|une|cette) question|(?:veut|veulent|voudrait|voudraient|aimerait|aimeraient"
    r"|souhaite|souhaiterait|voulait|cherche [àa]) savoir)\b(?:\s*[:,]\s*|\s+)(?:(?:si|que|ce que)\b\s*|s'(?=ils?\b)|qu'|ce qu')?)"
)
_NOT_A_VERB = r"(?<!\bla )(?<!\bune )(?<!\bsa )(?<!\bma )(?<!\bta )(?<!\bleur )(?<!\bcette )(?<!\bqui )(?<!\bqu')"
_RELAYED_AT_START = re.compile(
    rf"^\W*{_GREETINGS}{_RELAY_ASKER}\b(?P<told>[^?.!:;,\n]{{0,60}}?)\s{_NOT_A_VERB}{_RELAY_VERB}", re.IGNORECASE
)
_RELAYED_AFTER_STORY = re.compile(rf"\b(?:il|elle|ils|elles)\s+{_RELAY_VERB}", re.IGNORECASE)
_RELATIVE = re.compile(r"(?:que|qu'|qui|dont|avec qui|[àa] qui|pour qui)\b", re.IGNORECASE)


def without_relay(text: str) -> str:
    """The question without who relays it ("la dame demande si l'OIM ... ?" -> "l'OIM ... ?")."""
    after_story = [m for m in _RELAYED_AFTER_STORY.finditer(text) if m.start() >= STORY_BEFORE_QUESTION_CHARS]
    found = after_story[-1] if after_story else _RELAYED_AT_START.match(text)
    if found is None:
        return text
    rest = text[found.end():].strip()
    if len(rest.split()) < 3:
        return text
    if "?" not in rest:
        rest = f"{rest.rstrip(' .!')} ?"  # "veut savoir si l'OIM a aidé ...": a question, as relayed
    relayed = found.group(0).lower().rstrip()
    if relayed.endswith((" si", "s'")):
        # "... savoir si l'OIM a aidé ..." asks whether: "est-ce que l'OIM a aidé ... ?"
        rest = f"est-ce qu'{rest}" if relayed.endswith("s'") or rest[:1].lower() in "aeéiou" else f"est-ce que {rest}"
    elif relayed.endswith(("ce que", "ce qu'")):
        # "... demande ce que veut dire FMMD": "qu'est-ce que veut dire FMMD ?"
        rest = f"qu'est-ce qu'{rest}" if relayed.endswith("'") else f"qu'est-ce que {rest}"
    told = re.sub(r"\s+(?:et|mais)$", "", (found.groupdict().get("told") or "").strip())  # "... dans une ONG et veut savoir"
    # What the asker is may be the point ("un monsieur originaire du Kosovo me demande en quelle
    # année ...", "une dame haïtienne voudrait savoir ..."); who relays it is not ("que je traduis").
    return f"{told} {rest}" if told and not _RELATIVE.match(told) else rest


# Laughter typed around a question ("mdr", "ptdr", "lol", "haha", "xD"): the classifier read "c t en
# quelle année mdr" as out of scope. Stretched forms are typed once before ("mdrrr" -> "mdr").
_LAUGHTER = re.compile(r"\b(?:mdr|ptdr|lol|xd|jpp|(?:ha){2,}h?|(?:hi){2,})\b", re.IGNORECASE)


def clean_user_text(text: str) -> str:
    """Control and format characters out, HTML tags out (script and style elements whole),
    stretched letters (three or more) typed once, runs of symbols (decoration) out, laughter out
    (unless it is all the message), whitespace folded, lone surrogates fixed."""
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
    text = _WORD.sub(_unstretched, _TAG.sub(" ", _CODE_ELEMENT.sub(" ", "".join(kept))))
    text = _PUNCTUATION_RUN.sub(_one_mark, _DECORATION.sub(" ", text))
    without_laughter = _LAUGHTER.sub(" ", text)
    if without_laughter.strip(" ?!.,"):
        text = without_laughter  # "c t en quelle année mdr": no word of the question
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _one_mark(run: re.Match[str]) -> str:
    """" ?" for a run of question and exclamation marks holding a "?", else " !"."""
    return " ?" if "?" in run.group() else " !"


def _unstretched(word: re.Match[str]) -> str:
    """"merciiii" -> "merci", but "aaaaaaaa" is left as typed: typed once, it would be a word ("a"
    reads as "à plus", a goodbye) instead of a key held down."""
    letters = word.group()
    return letters if _one_key_held(letters) else _STRETCHED.sub(r"\1", letters)


def _one_key_held(text: str) -> bool:
    """Whether the letters and digits of the text are one character typed three times or more."""
    typed = [ch.casefold() for ch in text if ch.isalnum()]
    return len(typed) >= 3 and len(set(typed)) == 1


def has_words(text: str) -> bool:
    """Whether the text holds a letter or digit (a lone "?", "..." or emoji does not), other than one
    key held down ("aaaaaaaa", "zzzz": read as a word, the classifier took it for a goodbye)."""
    return any(ch.isalnum() for ch in text) and not _one_key_held(text)


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines), each with its final punctuation, stripped."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _asks(text: str) -> bool:
    """Whether the text has words and asks something: a question mark or a question word."""
    return has_words(text) and ("?" in text or _QUESTION_WORDS.search(text) is not None)


def focus(text: str, limit: int = LONG_MESSAGE_CHARS, keep: int = FOCUS_CHARS) -> str:
    """A long message reduced to its last question sentences (else its last sentences).

    A question relayed for someone else loses who relays it first (`without_relay`). Short messages
    are then returned as they are, unless they announce their question after a story ("j'ai marché
    longtemps, ..., bref je voulais savoir l'oim elle est dans combien de pays ?").
    """
    text = without_relay(text)
    announced = [m for m in _ANNOUNCES_QUESTION.finditer(text) if m.start() >= STORY_BEFORE_QUESTION_CHARS]
    # The last announcement followed by a question: not a closing "... mdr bref voilà" after it.
    asking = [m for m in announced if _asks(text[m.end():])]
    if asking:
        text = text[asking[-1].end():].lstrip(" ,:")
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
