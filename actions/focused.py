"""Answer the question that was asked: the topic is a prior, a page sentence is the answer.

Why: an intent tells which topic a message is about, not what it asks. For every knowledge
question the sentences of the pages are ranked against it (bot.knowledge.sentence_search), the topic's own
first; the best one leads the reply, verbatim, with its source. When the question asks about
something the pages do not say (cost, delay, papers...), the reply says so for that point first.
Follow-ups that name no topic ("c'est avec qui ?") are read against the topic of the conversation;
situations told in the user's words lead to the programme that fits; two questions get two
answers; a message that tells of danger gets help first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from actions.answers import (
    ASPECT_INTENTS,
    FOLLOW_UP_INTENT,
    Reply,
    Turn,
    answer_question,
    contact_card,
    contact_just_given,
    contacts_for_entry,
)
from actions.answers import answer_contact as answer_contact_cards
from actions.texts import DomainDict
from bot.knowledge.knowledge_base import Entry, KnowledgeBase, name_key
from bot.knowledge.nlp import one_turn, search_docs
from bot.knowledge.question_analysis import (
    QuestionAnalysis,
    SituationRule,
    analyse,
    spell_numbers,
    spell_ordinals,
)
from bot.knowledge.search import number_words, same_meaning, stop_words
from bot.knowledge.sentence_search import (
    LIST_EVIDENCE,
    RankedUnit,
    SentenceIndex,
    Unit,
    asks_ranking,
    gives_count_asked,
    sentence_index,
    text_shows,
)
from bot.knowledge.textnorm import fold, folded_words
from bot.knowledge.user_text import clean_user_text, focus, sentences

# A sentence scoring at least this (search score + bonuses, bot.knowledge.sentence_search) answers the
# question; below it, the topic's summary or an honest "not in the documents" is safer.
GOOD_SENTENCE = 0.30
# When the message itself names the topic (these reasons of choose_entry), a sentence of the topic
# scoring within TOPIC_MARGIN of a better one elsewhere is the answer.
TOPIC_FIRST = frozenset({"programme", "named"})
TOPIC_MARGIN = 0.10
# Outside the topic the conversation is about, a sentence must match the question this well.
GOOD_ON_PAGE = 0.40
GOOD_OUTSIDE_TOPIC = 0.48
# Without any topic, a sentence found in all pages must match this well to be offered as the answer.
GOOD_WITHOUT_TOPIC = 0.40
# An aspect (cost, delay...) counts as answered by a sentence showing its evidence at this score.
ASPECT_ANSWERED = 0.25
# Below it, a sentence showing the evidence among the topic's this many best is quoted after the gap.
ASPECT_NEAR_RANKS = 3
# A sentence of another topic answers a question without question word only if it matches this well.
STRONG_MATCH = 0.5
STRONG_MATCH_ON_PAGE = 0.35  # ...or this well when it is on a page the topic cites
# Kinds of answer so rarely shown that a sentence showing one is the answer at STRICT_SENTENCE,
# wherever it is (a long question's other words, "j'ai lu que ..., c'est le chiffre que donne l'OIM ?",
# weigh less on it).
STRICT_EVIDENCE = frozenset({"proportion", "dependency", "hashtag"})
STRICT_SENTENCE = 0.22
# What a follow-up asks that only the topic's own passages can give (not its page section's).
SPECIFIC_EVIDENCE = frozenset({"date", "number", "founding"})
# A follow-up only asking who or where ("avec qui ?"), or how many of what the sentence just given
# counts ("dans combien de pays ?"), is answered again by it when it ranks this far above any new one.
NAMED_EVIDENCE = frozenset({"agent", "place"})
GIVEN_MARGIN = 0.08
# Entries about the organisation itself (identity, history, members...): facets of one subject.
ORGANISATION = "organisation"
# Aspects a contact question can ask that the contact cards do not answer.
CONTACT_ASPECTS = frozenset({"hours", "office", "cost", "duration"})
# Questions answered in one message; a third one is asked to be sent on its own.
MAX_QUESTIONS = 2
# A question naming something no page speaks of ("cours de langue", "budget") gets "the pages
# do not speak of it", unless a sentence still matches it this well.
UNKNOWN_WORDS_OVERRIDE = 0.55
# A lead sentence longer than this is cut at a word boundary (a phone screen).
MAX_SENTENCE_CHARS = 420
# A list given whole (observers, countries...) is cut after this many characters.
MAX_LIST_CHARS = 700
# A question naming a page section (no topic of that title) gets this many of its first sentences.
SECTION_OPENING_SENTENCES = 2
# Title words that name no topic in particular.
GENERIC_TITLE_WORDS = frozenset(
    [
        "aide",
        "oim",
        "organisation",
        "migration",
        "migrations",
        "migrants",
        "migrant",
        "humanitaire",
        "humanitaires",
        "internationale",
        "internationales",
        "international",
        "combien",
        "personnes",
        "volontaire",
        "ou",
        "est",
        "les",
        "de",
        "la",
        "le",
        "des",
        "du",
        "et",
        "l",
        # Prepositions of titles ("Le Groupe mondial sur la migration"): "une personne sur sept"
        # does not name the Group.
        "sur",
        "pour",
        "aux",
        "au",
        "dans",
        "en",
        "avec",
        "par",
    ]
)
_MONTHS = frozenset(
    [
        "janvier",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "decembre",
    ]
)
# "le 8 juillet", "1er décembre" (folded): a day of a month.
_DAY_MONTH = re.compile(rf"\b(?:1er|[1-9]|[12][0-9]|3[01]) (?:{'|'.join(sorted(_MONTHS))})\b")
_ORDINAL = re.compile(r"\b(?:troisieme|quatrieme|cinquieme)\b")  # the pages know a 1st and a 2nd
# "depuis quand ?": the start, so the earliest year among sentences scoring within this margin.
_SINCE_WHEN = re.compile(r"\b(?:depuis|a partir de) (?:quand|qd|kan|kand|quelle annee)\b")
SINCE_MARGIN = 0.10
# ...and this close, a sentence stating "depuis <year>".
SINCE_STATED_MARGIN = 0.20
_SINCE_YEAR = re.compile(r"\bdepuis (?:(?:le |la |l')?\w+ )?(?:1[89]|20)\d\d\b")
# A year; not a decade ("les années 2000", "années 90": no sentence names it as such).
_YEAR = re.compile(r"(?<!annees )(?<!années )\b(?:1[89]|20)\d\d\b(?!s\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """One question of the message and what it was found to be about."""

    text: str
    analysis: QuestionAnalysis
    own_words: tuple[str, ...]
    quoted: str = ""  # folded sentences the answer to the question before it quoted


def _prefix(word: str) -> str:
    return word[:6]


def _naming_title_words(title: str, what_only: bool = False) -> list[str]:
    """The words of a title that name its topic (not "aide", "OIM", "migrations"...); `what_only`:
    up to a "dans" saying where ("La relocalisation dans l'Union européenne": "les pays d'Europe
    après la guerre" is not about the relocation, "la relocalisation dans l'UE" is the topic itself)."""
    what = re.split(r"\bdans\b", fold(title))[0] if what_only else title
    return [w for w in folded_words(what) if len(w) > 2 and w not in GENERIC_TITLE_WORDS]


def _title_words(entry: Entry) -> frozenset[str]:
    """Prefixes of the title's naming words, and the initials of two or three in a row ("ue" for
    "Union européenne"): a message using only these asks about the topic itself."""
    words = _naming_title_words(entry.title)
    initials = {"".join(w[0] for w in words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)}
    return frozenset(_prefix(w) for w in words) | initials


# A title word this long is named by any word of its family ("réinstallés" names "réinstallation");
# a shorter one only by itself or its plural ("conseille" does not name the "Conseil").
FAMILY_TITLE_LETTERS = 8


def _naming_keys(word: str) -> frozenset[str]:
    return frozenset({f"~{_prefix(word)}", word, word.rstrip("sx")})


@lru_cache(maxsize=256)
def _title_names(title: str) -> frozenset[str]:
    """What a message word must be (_naming_keys) to name an entry by its title."""
    keys: set[str] = set()
    for word in _naming_title_words(title, what_only=True):
        keys |= {f"~{_prefix(word)}"} if len(word) >= FAMILY_TITLE_LETTERS else {word, word.rstrip("sx")}
    return frozenset(keys)


def names_entry(words: tuple[str, ...], entry: Entry) -> bool:
    """Whether the message words name the entry by a word of its title."""
    return any(_naming_keys(w) & _title_names(entry.title) for w in words)


# Share of a title's naming words a message must use to name the entry in full (_named_in_full).
FULL_NAME_SHARE = 0.6


def _named_in_full(words: tuple[str, ...], entry: Entry) -> bool:
    """Whether the message words name the entry by most of its title's naming words, two or more
    ("forum", "mondial", "développement" of "Forum mondial sur la migration et le développement
    (FMMD)"; never a one-word title: "bloqué" alone is no name)."""
    title = _naming_title_words(entry.title, what_only=True)
    keys = [{f"~{_prefix(w)}"} if len(w) >= FAMILY_TITLE_LETTERS else {w, w.rstrip("sx")} for w in title]
    said = set().union(*(_naming_keys(w) for w in words)) if words else set()
    named = sum(1 for k in keys if k & said)
    return named >= 2 and named >= FULL_NAME_SHARE * len(keys)


def named_entries(kb: KnowledgeBase, words: tuple[str, ...]) -> list[Entry]:
    """Entries whose title words the message uses ("réinstallation", "dialogue", "CRISP")."""
    return [e for e in kb.entries() if names_entry(words, e)]


def named_most(named: list[Entry], words: tuple[str, ...]) -> list[Entry]:
    """Of the entries the words name, those named by the most words: "combien d'États participent
    au dialogue de haut niveau ?": "dialogue", "haut" and "niveau" name the Dialogues, "États"
    alone the member states."""
    if len(named) < 2:
        return named
    naming = {e.id: sum(names_entry((w,), e) for w in words) for e in named}
    most = max(naming.values())
    return [e for e in named if naming[e.id] == most]


def first_named_entry(kb: KnowledgeBase, words: tuple[str, ...], intents: tuple[str, ...] = ()) -> Entry | None:
    """The entry the words name first, in their order ("Dialogue" before "Nations Unies"); of those
    one word names ("migration": the Dialogues, the Forum, the migration and development), the one
    the whole message names most ("... la migration et le développement durable ..."); of those
    still tied, the one whose intent the classifier ranked ("travailler avec l'OIM sur migration et
    développement, on écrit à quelle adresse ?": the migration and development, not the Dialogues)."""
    for end in range(1, len(words) + 1):
        named = named_entries(kb, words[:end])
        if named:
            most = named_most(named, words)
            ranked = [e for e in most if any(i in e.intents for i in intents)]
            return (ranked or most)[0]
    return None


def own_words(kb: KnowledgeBase, analysis: QuestionAnalysis) -> tuple[str, ...]:
    """The words a question brings besides question words, cues, pointers and stop words."""
    empty = kb.answering.empty_words | stop_words()
    return tuple(w for w in folded_words(analysis.rest) if len(w) > 1 and w not in empty) + tuple(
        re.findall(r"\b\d+\b", analysis.rest)
    )


def is_followup(
    kb: KnowledgeBase, part: Part, turn: Turn, topic: Entry | None, nlu_entry: Entry | None = None
) -> bool:
    """A short question that names no other topic, asked while a topic is on."""
    if topic is None:
        return False
    if turn.programme and kb.entry_for_programme(turn.programme) not in (None, topic):
        return False
    others = [e for e in named_entries(kb, part.own_words) if e.id != topic.id]
    if others and not _topic_uses_naming_words(kb, topic, part.own_words, others):
        return False
    limit = kb.answering.followups.max_own_words + (1 if _stands_for_something(part.text) else 0)
    if len(part.own_words) > limit:
        return False
    # "et ça prend combien de temps ?", "c'est avec qui ?", "depuis quand ?", "et pour le Yémen ?":
    # it points back, or brings no word of its own. "dans combien de pays est l'OIM ?" does
    # neither: it is a question of its own, whatever was said before.
    if part.analysis.pointer or turn.country or not part.own_words:
        return True
    # "créé quand ?" after the Global Migration Group, which the classifier reads as the OIM's
    # history: a short question that asks something but names neither the classifier's topic
    # nor the organisation itself is about the topic of the conversation.
    asks = part.analysis.qtype is not None or part.analysis.aspect is not None
    if nlu_entry is None and turn.intent not in ASPECT_INTENTS:
        # A short question on an aspect (cost, delay, the next meeting...) that the classifier
        # reads as no topic at all ("le prochain c'est quand ?" after the Dialogues) is about
        # the topic of the conversation too.
        # So is a short question the classifier cannot place ("on me conseille avant de partir ?"
        # after the voluntary return).
        asks_it = part.analysis.aspect is not None or part.text.rstrip().endswith("?")
        return asks_it and not _organisation_words(kb) & set(part.own_words)
    if not asks or nlu_entry is None or nlu_entry.id == topic.id:
        return False
    # The classifier's topic, if the words name it, is named only by common words the topic's own
    # texts use (else `others` returned above): "vitorino il a parlé où" / "devant cb d'États ?" is
    # on the Council ("devant les 173 États membres"), not on the member states.
    return not _organisation_names(kb) & set(part.own_words)


# A word this many sentences of the pages use is common: alone, it names no topic for sure.
COMMON_WORD_UNITS = 15
# "il y a", "y avait-il": no pronoun standing for anything.
_THERE_IS = re.compile(r"\b(?:il )?y (?:a|avait|aura|ait|aurait)\b|\b(?:y a|y avait)-t-il\b")


def _stands_for_something(text: str) -> bool:
    """Whether the question has a pronoun standing for what was said before ("les États sont
    obligés d'y participer ?", "elle aide combien d'États ?"): it may then say a little more."""
    folded = _THERE_IS.sub(" ", fold(text))
    return bool(set(folded_words(folded)) & (SUBJECT_PRONOUNS | {"y"}) or _OBJECT_PRONOUN.search(folded))


def _topic_uses_naming_words(kb: KnowledgeBase, topic: Entry, words: tuple[str, ...], others: list[Entry]) -> bool:
    """Whether every word that names another topic is a common word of the pages (COMMON_WORD_UNITS)
    that the topic's own summary and passages use: "les États sont obligés d'y participer ?" after
    the FMMD ("pilotée par les États") is about the FMMD, not about the member states."""
    naming = {w for w in words if any(names_entry((w,), e) for e in others)}
    index = sentence_index(kb)
    if any(index.units_using(w) < COMMON_WORD_UNITS for w in naming):
        return False  # "et combien d'États membres ?", "il a dit quoi au Conseil ?": a rare word names its topic
    texts = [topic.answer, *(p.text for pid in topic.sources if (p := kb.passage(pid)) is not None)]
    return naming <= set(folded_words(" ".join(texts)))


def names_the_organisation(kb: KnowledgeBase, text: str, by_name: bool = False) -> bool:
    """Whether the text names the organisation itself ("l'OIM", "IOM", "l'organisation"; "elle" too
    unless `by_name`)."""
    return bool(set(folded_words(text)) & (_organisation_names(kb) if by_name else _organisation_words(kb)))


def _organisation_words(kb: KnowledgeBase) -> set[str]:
    """Words that name the organisation itself, "elle" (l'Organisation) included."""
    return _organisation_names(kb) | {"elle"}


def _organisation_names(kb: KnowledgeBase) -> set[str]:
    """The organisation's names ("oim", "iom", "organisation"...: answering.yml)."""
    return {fold(w) for w in kb.answering.followups.organisation_words}


def choose_entry(
    kb: KnowledgeBase, part: Part, turn: Turn, topic: Entry | None, nlu_entry: Entry | None
) -> tuple[Entry | None, str]:
    """The entry the question is about, and why: situation, programme, follow-up, intent, none."""
    situation = kb.answering.situation(part.text, turn.said[:-1][-2:])
    entry = kb.entry(situation.entry) if situation is not None else None
    # A programme named wins over the situation told, unless the classifier reads the message as
    # the situation's programme too ("réfugiée et étudiante, presque pas de places de réinstallation,
    # d'autres moyens légaux ?": the complementary pathways, not the resettlement named).
    if entry is not None and (not turn.programme or (nlu_entry is not None and nlu_entry.id == entry.id)):
        if nlu_entry is not None and nlu_entry.id != entry.id and _named_in_full(part.own_words, nlu_entry):
            # "Je dois expliquer à notre maire la nature juridique du Forum mondial sur la migration
            # et le développement : ...": the topic named by its whole title, the one the classifier
            # read, is what is asked; the situation told (a town hall) is its context.
            return nlu_entry, "intent"
        asks_a_fact = part.analysis.qtype is not None and part.analysis.qtype.name in FACT_TYPES
        asked_of = named_most(named_entries(kb, part.own_words), part.own_words) if asks_a_fact else []
        if len(asked_of) == 1 and asked_of[0].id != entry.id:
            # "Je suis étudiant sans papiers et je fais un mémoire. Le premier Dialogue de haut
            # niveau, il a eu lieu quand ?": a date, a count asked of another topic named is asked
            # of it; the story is only who asks.
            return asked_of[0], "named"
        return entry, "situation"
    if turn.programme:
        entry = kb.entry_for_programme(turn.programme)
        if entry is not None:
            return entry, "programme"
    if is_followup(kb, part, turn, topic, nlu_entry):
        assert topic is not None
        if (
            nlu_entry is not None
            and nlu_entry.id != topic.id
            and nlu_entry.kind == ORGANISATION
            and names_the_organisation(kb, part.text)
            and (topic.kind == ORGANISATION or names_the_organisation(kb, " ".join(turn.said[:-1][-1:])))
            and not _named_by_message_before(turn, topic)
        ):
            # "c koi l'oim ?" then "elle a été créée quand ?": "elle" is the OIM, and which of
            # its facets (history, members...) is asked the classifier tells better than the topic;
            # so too after "qui dirige l'OIM ?", answered from an article on its Council.
            return nlu_entry, "intent"
        return topic, "followup"
    if nlu_entry is not None:
        return nlu_entry, "intent"
    named = named_most(named_entries(kb, part.own_words), part.own_words)
    if len(named) == 1:
        return named[0], "named"
    if not named and (about := _organisation_entry_showing(kb, part, turn)) is not None:
        return about, "intent"
    if topic is not None and turn.intent in ASPECT_INTENTS and not named:
        # "je peux écrire à qui pour en savoir plus ?" read as a question on a programme's
        # eligibility, how to apply...: it is about the conversation's topic, not about whichever
        # page sentence shares a word with it.
        return topic, "intent"
    return None, "none"


def _organisation_entry_showing(kb: KnowledgeBase, part: Part, turn: Turn) -> Entry | None:
    """"l oim ca existe depuis kel anne svp", the classifier unsure: a question of a type on the
    organisation alone (its other words unknown to the pages: SMS forms, typos) is about the
    organisation entry whose summary shows what is asked, the classifier's first such one, else
    the first in the knowledge files (what the OIM is). Words every page uses ("la migration")
    name nothing else."""
    evidence = part.analysis.evidence
    index = sentence_index(kb)
    words = {w for w in part.own_words if index.knows(w)}
    # "bonjour, c'est quoi l'OIM ?" read as a greeting: what it is, the first such entry.
    defined = evidence == "none" and kb.answering.asks_definition(part.analysis.folded)
    if (evidence == "none" and not defined) or part.analysis.aspect is not None or not names_the_organisation(kb, part.text):
        return None  # not "pourquoi certains migrants passent en priorité ?": the OIM must be named
    if not words <= _organisation_words(kb) | GENERIC_TITLE_WORDS:
        return None
    showing = [e for e in kb.entries() if e.kind == ORGANISATION and (defined or text_shows(e.answer, evidence))]
    ranked = [e for intent in turn.ranked_intents if (e := kb.entry_for_intent(intent)) is not None and e in showing]
    return next(iter(ranked or showing), None)


def _named_by_message_before(turn: Turn, topic: Entry) -> bool:
    """Whether the user's message before named the topic, when it is not the organisation itself:
    "la session annuelle du Conseil de l'OIM" / "elle a duré combien de temps ?": "elle" is the
    session, not the OIM the message also named."""
    if topic.kind == ORGANISATION or len(turn.said) < 2:
        return False
    return names_entry(tuple(folded_words(turn.said[-2])), topic)


def _in_a_section_of(index: SentenceIndex, unit: Unit, entry: Entry) -> bool:
    """Whether the unit is in a page section the entry is written from, though another entry cites
    its passage ("Pour ce faire, l'OIM aide les gouvernements à « intégrer » la migration ...", cited
    by what the OIM is, in the migration and development's section "Une approche pangouvernementale")."""
    passage = index.kb.passage(unit.passage_id)
    return passage is not None and (passage.source_file, passage.section) in index.source_sections(entry)


def entry_of_unit(kb: KnowledgeBase, index: SentenceIndex, unit: Unit) -> Entry | None:
    """The entry whose passages hold the unit: the topic of what was just answered."""
    cited = kb.entry_citing(unit.passage_id)
    if cited is not None:
        return cited
    for entry in kb.entries():
        if unit.passage_id in index.topic_passages(entry):
            return entry
    return None


def _summary_line(entry: Entry) -> str:
    """The first sentence of the entry's answer (two when the first is as short as "Oui.")."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(entry.answer.split()))
    line = ""
    for sentence in sentences:
        line = f"{line} {sentence}".strip()
        if len(line.split()) >= 6:
            break
    return line


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def unit_text(index: SentenceIndex, unit: Unit, whole_list: bool, wanted_words: tuple[str, ...] = ()) -> str:
    """What the reply quotes: the sentence (with the one before when it starts with "Il"...),
    the list item under its heading, or the whole list."""
    siblings = index.siblings(unit)
    if unit.list_item:
        heading = unit.section or ""
        if whole_list:
            items = [u.text for u in siblings if u.list_item]
            # Not by words naming no one item: "migration" of "le Groupe mondial sur la migration",
            # the heading's own words.
            heading_words = {_prefix(w) for w in folded_words(heading)}
            asked = {_prefix(w) for w in wanted_words if len(w) > 3 and w not in GENERIC_TITLE_WORDS} - heading_words
            matching = [i for i in items if asked & {_prefix(w) for w in folded_words(i)}]
            if matching and len(matching) < len(items):
                items = matching  # "une table ronde en juin 2013": the items that say so
            return _cut((f"{heading} : " if heading else "") + " ; ".join(items), MAX_LIST_CHARS)
        return _cut(f"{heading} : {unit.text}" if heading else unit.text, MAX_SENTENCE_CHARS)
    text = f"{unit.context} {unit.text}".strip()
    before = (None if unit.context else _referred_to(index, unit, wanted_words)) or _added_to(index, unit)
    if before is not None:
        text = f"{before.text} {text}"
    following = _continued_by(index, unit)
    if following is not None:
        text = f"{text} {following.text}"
    return _cut(text, MAX_SENTENCE_CHARS * 2 if len(text) > MAX_SENTENCE_CHARS else MAX_SENTENCE_CHARS)


_DEMONSTRATIVE = re.compile(r"\b(?:ces|ce|cet|cette)\s+(\w+)(?:\s+(\w+))?")  # "cette occasion historique"
_EXAMPLE = re.compile(r"^par exemple\b")
# "Les programmes d'admission humanitaire, les visas humanitaires, ... sont autant d'exemples de voies
# complémentaires.": examples of a noun of the sentence before.
_EXAMPLES_OF = re.compile(r"\b(?:sont|en sont) (?:autant d.|des |quelques )?exemples? (?:de|d.|des) (\w+)")


def _referred_to(index: SentenceIndex, unit: Unit, wanted_words: tuple[str, ...]) -> Unit | None:
    """The sentence before (in the paragraph before for a paragraph's first), when this one names what
    was asked with a demonstrative ("c'était à quelle occasion ?": "Les Etats Membres ... ont saisi
    cette occasion historique ..." says which one just before: "... le premier Sommet ...")."""
    asked = {_prefix(w) for w in wanted_words if len(w) > 3}
    if not asked & {_prefix(w) for m in _DEMONSTRATIVE.finditer(fold(unit.text)) for w in m.groups() if w}:
        return None
    before = index.sentence_before(unit)
    return None if before is None or before.list_item else before


# "En outre, l'OIM aide ... les autorités locales ...": a sentence adding to the one before it.
_ADDS_TO = re.compile(r"^(?:en outre|de plus|par ailleurs|qui plus est)\b")


def _added_to(index: SentenceIndex, unit: Unit) -> Unit | None:
    """The sentence before, when this one only adds to it ("En outre, ..."): what it adds to is said
    first ("... l'OIM soutient l'établissement de profils migratoires locaux ... En outre, ...")."""
    opening = unit.context or unit.text  # "En outre, ... Il s'agit de ...": the unit's context adds
    if not _ADDS_TO.match(fold(opening)):
        return None
    before = index.sentence_before(unit)
    if unit.context and before is not None and fold(before.text) == fold(unit.context):
        before = index.sentence_before(before)
    return None if before is None or before.list_item else before


def _continued_by(index: SentenceIndex, unit: Unit) -> Unit | None:
    """The next sentence when it goes on about a noun of this one ("... examiné en fonction d'un
    ensemble de critères spécifiques." + "Ces critères comprennent l'aptitude médicale...") or
    gives an example of it ("Par exemple, ...", "... sont autant d'exemples de voies complémentaires")."""
    following = index.sentence_after(unit)
    if following is None or following.list_item:
        return None
    if _EXAMPLE.match(fold(following.text)):
        return following  # "... des dispositifs de transport difficiles." + "Par exemple, ... les vols charters ..."
    examples = _EXAMPLES_OF.search(fold(following.text))
    if examples and examples.group(1) in folded_words(unit.text):
        return following
    match = _DEMONSTRATIVE.match(fold(following.text))
    return following if match and match.group(1) in folded_words(unit.text) else None


def section_opening(index: SentenceIndex, unit: Unit, part: Part) -> str | None:
    """The first sentences of the page section a question names and asks nothing more about.

    Why: "c'est quoi l'approche pangouvernementale ?" names a section of a page (no topic has
    that title); its opening sentences say what it is, whichever of its sentences ranks first.
    """
    analysis = part.analysis
    if analysis.qtype is not None or analysis.aspect is not None or unit.list_item or not unit.section:
        return None
    if _SUPERLATIVE_BLANK.search(analysis.folded):
        return None  # "... les plus quoi ?" asks for a word of one sentence
    asked = {_prefix(w) for w in part.own_words if len(w) > 3 and not w.isdigit()}
    title = {_prefix(w) for w in folded_words(unit.section) if len(w) > 3}
    if not asked or not asked <= title:
        return None
    opening = [u for u in index.section_units(unit) if not u.list_item][:SECTION_OPENING_SENTENCES]
    if not opening or opening[0].id == unit.id:
        return None
    return _cut(" ".join(u.text for u in opening), MAX_SENTENCE_CHARS * 2)


def _list_words(part: Part, entry: Entry | None = None) -> tuple[str, ...]:
    """Words of the question that pick items of a list: its own words and the months it names,
    not those naming its topic ("les axes stratégiques du dialogue sur les migrations et le
    développement": all the axes, not the one called "Migration et développement")."""
    months = tuple(w for w in folded_words(part.text) if w in _MONTHS)
    own = tuple(w for w in part.own_words if entry is None or not names_entry((w,), entry))
    return own + months


def source_of(kb: KnowledgeBase, unit: Unit) -> str:
    """'Page title — section' of a unit, what hotline staff quote."""
    title = kb.source_title(unit.passage_id)
    return f"{title} — {unit.section}" if unit.section else title


def search_query(
    part: Part, turn: Turn, why: str, entry: Entry | None = None, index: SentenceIndex | None = None
) -> str:
    """What the sentences are ranked against: the question, ordinals spelt out, and for a
    follow-up the previous message too ("le dialogue de 2013" / "c'était où ?")."""
    qtype = part.analysis.qtype
    asked = qtype.without_cues(fold(part.text)) if qtype is not None and qtype.cue_names_nothing else part.text
    if index is not None:
        # "Dans son discours au Conseil, comment le DG ... ?": the setting names the topic; the
        # sentences are ranked on what is asked after it.
        # Not when nothing but question words is left ("dans le premier Dialogue, c'était où ?").
        folded = fold(asked)
        main = index.kb.answering.main_clause(folded)
        if main != folded and any(len(w) > 3 and w not in stop_words() for w in folded_words(main)):
            asked = main
    query = without_title_words(spell_ordinals(asked), entry, index)
    if qtype is not None and qtype.terms and index is not None and len(part.own_words) <= index.kb.answering.followups.max_own_words:
        # "et ils y parlent de quoi ?" names nothing: the words a page says themes with rank for it.
        # Not a question naming enough ("la résolution A/RES/65/170 porte sur quoi ?": its item).
        query = f"{query} {qtype.terms}"
    # Not a follow-up turning to another side ("et pendant le voyage ?"); "et pour le Yémen ?" is
    # asked as the message before asked.
    if why == "followup" and len(turn.said) >= 2 and (turn.country or not _turns_to(part, index)):
        # The topic's own words rank none of its sentences above another: what else it said, if anything.
        # A follow-up of nothing but question words ("et où ?") after another ("c'était quand ?"):
        # what the conversation was about is said further back.
        bare = not part.own_words
        before = _last_message_with_words(index.kb, turn.said[:-1]) if bare and index is not None else turn.said[-2]
        before = _without_the_other_one(part, before)
        query = f"{query} {without_title_words(spell_ordinals(before), entry, index)}"
    if (
        turn.country and turn.country_said and name_key(turn.country) not in name_key(query)
        and name_key(turn.country_said) in name_key(query)
    ):
        # "l'oim en irak": the sentences write the entity's name ("l'invasion de l'Iraq en 2003").
        query = f"{query} {turn.country}"
    # Every page is about the OIM: its name ranks nothing ("dans combien de pays est l'OIM ?").
    return query


# Which one of several: "le premier ... en 2006" / "et le deuxième c'était quand ?".
_ANY_ORDINAL = re.compile(r"\b(?:1er|1ere|premier|premiere|deuxieme|second|seconde|troisieme|quatrieme|cinquieme|dernier|derniere)s?\b")


def _without_the_other_one(part: Part, before: str) -> str:
    """The message before without its ordinal and years when the follow-up names another ordinal:
    "et le deuxième c'était quand ?" after "le premier dialogue ... c'était en 2006" asks about the
    second, which the first's words ("premier", "2006") would rank below the first."""
    asked = set(_ANY_ORDINAL.findall(fold(part.text)))
    told = set(_ANY_ORDINAL.findall(fold(before)))
    if not asked or not told or asked & told:
        return before
    return _YEAR.sub(" ", _ANY_ORDINAL.sub(" ", fold(before)))


# "et au niveau local ?", "et pour les migrants eux-mêmes ?": the follow-up turns to another side.
_CONTRAST = re.compile(r"^(?:ok |d.accord |bon )?(?:et|mais)\b")
_POINTS_BACK = re.compile(r"\b(?:ca|cela|lequel|laquelle|lesquels|lesquelles)\b")


def _turns_to(part: Part, index: SentenceIndex | None) -> bool:
    """Whether a follow-up opened by "et"/"mais" names a side of the topic the pages have words for:
    its sentences are then ranked on those words alone, the message before would pull back to
    what was just answered ("et au niveau local ?" after the national policies)."""
    folded = part.analysis.folded
    if index is None or not _CONTRAST.match(folded) or _stands_for_something(part.text) or _POINTS_BACK.search(folded):
        return False  # "et elle contribue à quoi ?", "et ça ... ?": what was just answered
    qtype = part.analysis.qtype
    if (qtype is not None and qtype.name != "activity") or _ORDINAL.search(fold(spell_ordinals(part.text))):
        return False  # "et il a eu lieu quand ?", "et le troisième ?": asked of what was just said
    return any(len(w) > 3 and not w.isdigit() and index.knows(w) for w in part.own_words)


# A follow-up of a follow-up ("le deuxième dialogue" / "c'était quand ?" / "et où ?") is read
# with the last of this many messages before it that brings words of its own.
FOLLOWED_MESSAGES = 3


def _last_message_with_words(kb: KnowledgeBase, said: tuple[str, ...]) -> str:
    """The latest message bringing words besides question words, among the last FOLLOWED_MESSAGES
    (the one just before when none does)."""
    for message in reversed(said[-FOLLOWED_MESSAGES:]):
        if own_words(kb, analyse(kb.answering, message)):
            return message
    return said[-1]


def without_title_words(text: str, entry: Entry | None, index: SentenceIndex | None = None) -> str:
    """The question without the words naming its topic: every sentence of the topic is about
    the topic, what ranks them is what the question asks beyond it ("les partenaires du
    dialogue de haut niveau" -> "les partenaires"). Kept whole when nothing else is left."""
    kept = _blank_title_words(text, entry, index)
    stops = stop_words()
    if not [w for w in folded_words(kept) if len(w) > 2 and w not in stops and w not in GENERIC_TITLE_WORDS]:
        return text
    return kept


def _blank_title_words(text: str, entry: Entry | None, index: SentenceIndex | None = None) -> str:
    """The text with the words of the topic's title blanked out, but for the rare ones that only
    a sentence or two of the pages use: "CRISP", in the title of the complementary pathways,
    finds the one sentence that answers "CRISP c'est l'abréviation de quoi ?"."""
    if entry is None:
        return text
    title = _title_words(entry)
    if index is not None:
        title = frozenset(w for w in title if index.units_using(w) > RARE_TITLE_WORD_UNITS)
    return re.sub(r"[^\W\d_]+", lambda m: " " if _prefix(fold(m.group(0))) in title else m.group(0), text)


# Where the users say they are is their story when the message brings this many other words.
USER_PLACE_OTHER_WORDS = 2
# A title word that at most this many sentences of the pages use names a part of the topic.
RARE_TITLE_WORD_UNITS = 2


def anchors(part: Part, turn: Turn, index: SentenceIndex) -> list[str]:
    """Named things of the question a sentence must hold to answer it: years, the country."""
    found = [re.sub(r"\s", "", y) for y in _YEAR.findall(part.text)]
    found += _ORDINAL.findall(fold(spell_ordinals(part.text)))
    # "et celle du 8 juillet ?": a day the pages name picks the item of that day (a day they do not
    # name is no gap: "le 14 septembre" is in "14-15 septembre").
    found += [day for day in _DAY_MONTH.findall(fold(part.text)) if _pages_name(index, [day])]
    # Where the users are, told before their question ("On est une association au Tchad ..., l'OIM
    # forme ... ?"), is their story, not a place asked about.
    asking = _asking_sentences(part.text)
    said = fold(turn.country_said or turn.country or "")
    others = [w for w in part.own_words if len(w) > 3 and w not in said.split()]
    if said and len(others) >= USER_PLACE_OTHER_WORDS and index.kb.answering.where_the_user_is(fold(asking), said):
        # "moi je suis au Niger en ce moment et ..., quelle guerre ?": where they are, not what they
        # ask. Not "et moi je suis au niger" after "je veux rentrer": their place is all they add.
        return found
    if turn.country and name_key(turn.country) and name_key(turn.country) in name_key(asking):
        found.append(turn.country)
    elif (
        turn.country_said and name_key(turn.country_said) in name_key(asking) and _units_naming(index, turn.country_said)
    ):
        # "aux États-Unis" for the entity "États-Unis d'Amérique": the name as written must be held
        # (when the pages write it so: "USA" is not a place they fail to name).
        found.append(turn.country_said)
    elif (
        turn.country and turn.country_said and name_key(turn.country_said) in name_key(asking)
        and _units_naming(index, turn.country)
    ):
        # "irak" typed, "Iraq" written: the entity's own name is the one the pages use.
        found.append(turn.country)
    return found


def _wanted(index: SentenceIndex, part: Part, turn: Turn, entry: Entry | None, why: str) -> list[str]:
    """The anchors a sentence must name. Where the user of a situation lives or comes from is their
    story, not the point asked: a place the programme for their case never names does not make it
    a gap, nor pick a sentence ("je vis en Allemagne et ma femme ..., comment je peux les faire
    venir ?", "je travaille au ministère de la Santé au Sénégal, ... comment l'OIM peut nous
    accompagner ?": Senegal is only one of the 195 States of a meeting's list)."""
    wanted = anchors(part, turn, index)
    if entry is not None and wanted:
        wanted = [w for w in wanted if not _year_naming_the_topic(index, part, entry, w)]
    if why != "situation" or not wanted:
        return wanted
    topic = index.topic_passages(entry) if entry is not None else frozenset()
    units = [u for u in index.units if u.passage_id in topic] if topic else index.units
    return [w for w in wanted if any(_holds(u, [w]) for u in units)]


def _year_naming_the_topic(index: SentenceIndex, part: Part, entry: Entry, year: str) -> bool:
    """Whether the year is the topic's own, told to name it ("le conseil oim nov 2019", "le conseil
    2019": after a word of its title, months and the OIM's name aside), and its page sections say
    it: the sentence giving the session's length need not repeat it. Not "en 2018" after another
    word ("combien de bénéficiaires en 2018 ?"), which a sentence must hold."""
    if not year.isdigit():
        return False
    organisation = _organisation_words(index.kb)
    title = _title_words(entry) - {_prefix(w) for w in organisation}
    words = re.findall(r"[^\W_]+", fold(part.text))
    for at, word in enumerate(words):
        if word != year:
            continue
        before = [
            w for w in words[max(0, at - 4) : at]
            if w not in stop_words() and w not in organisation and not any(m.startswith(w) for m in _MONTHS)
        ]  # fmt: skip
        if before and _prefix(before[-1]) in title:
            topic = index.topic_passages(entry)
            return any(_holds(u, [year]) for u in index.units if u.passage_id in topic)
    return False


def _speaks_of(index: SentenceIndex, hit: RankedUnit, part: Part, entry: Entry | None, wanted: list[str]) -> bool:
    """Whether a unit holding the question's year also speaks of what the question asks about,
    in the same words or in words close in meaning ("crises" / "catastrophes").

    Why: "combien de personnes relocalisées en 2020 ?" found the only sentence naming 2020 (a
    report's title); a year alone does not make a sentence answer the question."""
    if not wanted:
        return True
    asked = {_prefix(w) for w in part.own_words if not w.isdigit() and len(w) > 3}
    if not asked:
        return True
    unit = hit.unit
    if part.analysis.evidence in ("place", "places") and any(_named_by(unit.text, w) for w in wanted if w.isdigit()):
        # "en 1968, ils sont intervenus pour quel pays ?": "la Tchécoslovaquie en 1968" names the
        # place of that year, whatever else the sentence speaks of.
        return True
    text = f"{unit.context} {unit.section} {unit.text}"
    said = {_prefix(w) for w in folded_words(text)}
    if hit.in_topic and entry is not None:
        said |= _title_words(entry)  # a sentence of the topic speaks of the topic
    if asked & said or any(a.startswith(w) or w.startswith(a) for a in asked for w in said if len(w) > 3):
        return True  # the same word, or one of its family ("aidées" / "aide")
    own = [w for w in re.findall(r"[^\W\d_]{4,}", part.text.lower()) if _prefix(fold(w)) in asked]
    return index.close_in_meaning(own, text)


# Up to three words between a name and a year ("la Hongrie en 1956", "Hongrie (1956)").
_THREE_WORDS = r"(?:[\w'’-]+[\s,()]+){0,3}"


def _named_by(text: str, year: str) -> bool:
    """Whether the text writes a name (a capitalised word, not first in its sentence) within three
    words of the year: "la Tchécoslovaquie en 1968", "Hongrie (1956)", "en 2006, à Genève"."""
    near = _THREE_WORDS
    name = r"(?<=[\w,;:()’'] )[A-ZÀ-Ý][\w-]+"
    return bool(re.search(rf"{name}[\s,()]+{near}\(?{year}\b|\b{year}\)?[\s,()]+{near}{name}", text))


def _holds_text(text: str, wanted: list[str]) -> bool:
    return all(name_key(w) in name_key(text) for w in wanted)


def _holds(unit: Unit, wanted: list[str]) -> bool:
    """Whether the unit (with its context and section) names every one of the wanted things."""
    if not wanted:
        return True
    text = _unit_key(unit)
    return all(name_key(w) in text for w in wanted)


def _pages_name(index: SentenceIndex, wanted: list[str]) -> bool:
    """Whether some sentence or item of the pages names every one of the wanted things."""
    return any(_holds(unit, wanted) for unit in index.units)


@lru_cache(maxsize=8192)
def _unit_key(unit: Unit) -> str:
    """name_key of a page unit's text, computed once per unit (it was a third of a turn's cost)."""
    return name_key(f"{unit.context} {unit.section} {unit.text}")


def _best(
    index: SentenceIndex, part: Part, turn: Turn, entry: Entry | None, why: str, wanted: list[str]
) -> RankedUnit | None:
    """The best unit for the question, naming what it must (`wanted`, from _wanted); for a
    follow-up, the topic's best unit showing the type."""
    evidence = part.analysis.evidence
    query = search_query(part, turn, why, entry, index)
    hits = index.rank(query, entry, evidence, k=60, whole_question=search_query(part, turn, why))
    hits = [h for h in hits if _holds(h.unit, wanted) and _speaks_of(index, h, part, entry, wanted)]
    if part.quoted:
        hits = [h for h in hits if not _said_in(h.unit, part.quoted)] or hits
    if why == "followup" and entry is not None:
        # A follow-up asks for something new: not a sentence the previous answer already quoted
        # ("ça se fait comment le voyage ?" after the summary of the voluntary return).
        # Unless the follow-up picks up one of its words ("en soutien de quelle agence ?" after
        # "... en soutien aux activités de rapatriement du HCR"): it asks about that sentence.
        # A word picked up in another form counts ("vous travaillez avec qui ?" after "L'OIM travaille
        # en étroite collaboration avec ...").
        # So does a number or a rare word the message before named ("la résolution 58/208" / "elle
        # date de quand ?": the sentence given holds the date, unnoticed).
        given = fold(turn.previous_reply)
        picked = {w for w in part.own_words if len(w) > 3}
        picked_stems = {_prefix(w) for w in picked}
        # A word counts in the pages' words of the same meaning too ("qui a demandé à adhérer ?":
        # "la demande d'adhésion du Liban", search_words.yml).
        alike = {_prefix(w): _stems_alike(w, index) for w in picked}
        ranking = asks_ranking(part.text)
        if given:
            # Not when the follow-up's own words are in a sentence not given yet ("et qui a demandé à
            # adhérer ?" after the sentence naming Vitorino, the message before's rare word: "la
            # demande d'adhésion du Liban" says what is new).
            own_stems = frozenset().union(*alike.values())
            brings_new = any(
                own_stems & _word_keys(h.unit.text) for h in hits if h.in_topic and fold(h.unit.text) not in given
            )
            recalled = set() if brings_new else _named_before(index.kb, turn, entry) - picked_stems
            asked_again = picked_stems | {k for k in recalled if k.isdigit() or index.units_using(k) <= RARE_WORD_UNITS}
            # A ranking asked again is given again ("et ils partent surtout vers quels pays ?" after a
            # summary naming "les trois premiers pays"): no other sentence ranks them.
            fresh = [
                h for h in hits
                if fold(h.unit.text) not in given
                or asked_again & _word_keys(h.unit.text)
                or (ranking and "ranking" in h.unit.features)
            ]  # fmt: skip
            top = next((h for h in hits if h.in_topic and h.shows_type), None)
            if (
                fresh and top is not None and top not in fresh and not part.own_words
                and (evidence in NAMED_EVIDENCE or (evidence == "number" and gives_count_asked(part.text, top.unit.text)))
                and top.score >= fresh[0].score + GIVEN_MARGIN
            ):
                # "avec qui ?" after a summary saying "en soutien aux activités de rapatriement du
                # HCR": the sentence given names them, far better than anything new (a list item
                # naming the HCR among a meeting's observers): said again.
                fresh = [top, *fresh]
            hits = fresh or hits
        # Words of its own that one sentence matches this well make a question of its own ("... ? et
        # combien % de son personnel est sur le terrain ?"), wherever that sentence is.
        brought = [w for w in part.own_words if len(w) > 3]
        matched = next((h for h in hits[:1] if h.search_score >= OWN_QUESTION_MATCH and h.shows_type), None)
        if matched is not None and len(brought) >= OWN_QUESTION_WORDS:
            return matched
        if evidence in STRICT_EVIDENCE and hits and hits[0].shows_type and hits[0].score >= STRICT_SENTENCE:
            # A kind of fact few sentences show, asked of what was just said ("c vrai ke bcp de gens
            # sont migrants ? c 1 sur cb"): the sentence showing it by those words, whatever its topic.
            return hits[0]
        # The best unit of the topic's pages ("et l'UNICEF ?" after the dialogue's observers).
        # A date or a figure of another topic's own passages is not this topic's: "depuis quand ?"
        # after the relocation is not answered by the year of the resettlement's operations, told
        # in the same page section (who it works with may well be said once for the section).
        # Unless the sentence holds every word the follow-up brings ("... et elle a combien de
        # structures hors siège ?" after the OIM's history: the presence's sentence names them).
        others = index.passages_of_other_entries(entry) if evidence in SPECIFIC_EVIDENCE else frozenset()
        picked_meanings = _word_meanings(picked)
        near = [
            h for h in hits
            if (h.in_topic or h.on_topic_page) and h.shows_type
            and (h.unit.passage_id not in others or _holds_every(h.unit, picked_meanings))
        ]  # fmt: skip
        # The follow-up's own words ("et les bourses ça compte ?") say what is new in it: a sentence
        # using the rarest of them in the pages ("bourses", not "compte"), before one that only
        # shares the words of the message before.
        # Not one far below the best, though, unless the word is a name ("y en a eu à Genève ?"):
        # "et les pays qui en accueillent le plus ?" is not answered by "des États qui accueillent
        # des ressortissants étrangers" (another topic's).
        # Nor unless the follow-up brings that one word only and only a sentence or two use it: it
        # names what is asked ("et la diaspora dans tout ça ?", "et qui le pilote ?": "pilotée par
        # les États"). With more words, the rarest may be only the user's ("il a débouché sur la
        # création de quoi ?": "Il a abouti à la création du ...", not "Il a débouché sur un programme").
        # (Ties in the order the user wrote the words: the same question, the same answer.)
        order = {stem: i for i, stem in enumerate(dict.fromkeys(_prefix(w) for w in part.own_words))}
        for new_word in sorted(alike, key=lambda stem: (_rarity(index, alike[stem]), order.get(stem, 0))):
            stems = alike[new_word]
            named_by_few = len(picked_stems) == 1 and _rarity(index, stems) <= FEW_UNITS_WORD
            using = [
                h for h in near
                # An item's list heading says what it is ("et quelles agences y sont observatrices ?":
                # the items under "Observateurs").
                if stems & {_prefix(w) for w in folded_words(f"{h.unit.section} {h.unit.text}" if h.unit.list_item else h.unit.text)}
                and (
                    h.score >= near[0].score - RARE_WORD_MARGIN or named_by_few or _names(h.unit.text, new_word)
                    or evidence == "quote"  # "il a dit quoi sur les migrants ?": said of them, not by whom
                )
            ]  # fmt: skip
            if using:
                near = using
                break
        if near and given and not part.own_words:
            # Naming nothing new ("ça aide quels pays surtout ?"), it asks about the topic: the
            # topic's own sentences before another programme's of the same page sharing "aide".
            own_first = [h for h in near if h.in_topic]
            near = [*own_first, *(h for h in near if not h.in_topic)]
        if near and evidence == "quote" and not part.own_words:
            # "il a dit quoi ?" naming no subject: the first words the page reports, in reading order.
            first = min(near, key=lambda h: index.units.index(h.unit))
            near = [first, *(h for h in near if h is not first)]
        termed = _with_type_terms(index, near, part)
        if termed is not None:
            near = [termed, *(h for h in near if h is not termed)]
        if near and ranking:
            # "elle vise surtout quels pays ?": the topic's sentence ranking them ("les plus touchés")
            # before one merely naming countries, unless clearly worse.
            ranks = next((h for h in near if "ranking" in h.unit.features), None)
            # Another topic's sentence on top ("ils partent surtout où ?" after the resettlement:
            # not the pathways' "périples ... à travers l'Afrique"): the topic's own ranking, one
            # not said yet first ("les trois premiers pays de réinstallation"), however far below.
            own_ranks = [h for h in near if "ranking" in h.unit.features and h.in_topic]
            if own_ranks and not near[0].in_topic:
                ranks = next((h for h in own_ranks if not _said_in(h.unit, given)), own_ranks[0])
                near = [ranks, *(h for h in near if h is not ranks)]
            elif ranks is not None and ranks.score >= near[0].score - TOPIC_MARGIN:
                near = [ranks, *(h for h in near if h is not ranks)]
        if near:
            # The topic's own sentence before one of another section of its page, unless clearly
            # worse ("ça sert à quoi ?" after the Global Migration Group: not the Dialogue's objective).
            own = next((h for h in near if h.in_topic), None)
            if own is not None and not near[0].in_topic and own.score >= near[0].score - TOPIC_MARGIN:
                near = [own, *(h for h in near if h is not own)]
            best = _earliest_if_since(near, part)
            return RankedUnit(best.unit, max(best.score, GOOD_SENTENCE), best.search_score, True, True)
        if wanted and hits and hits[0].shows_type:
            # "..., et combien de personnes elle a aidées en 2021 ?" after the resettlement: no
            # sentence of the topic names 2021; the one naming it and what is asked answers.
            return hits[0]
        if evidence != "none":
            topic = index.topic_passages(entry)
            showing = [u for u in index.units if u.passage_id in topic and evidence in u.features and _holds(u, wanted)]
            # None new: the one just given is said again ("ça touche combien de gens par an ?" after
            # "... chaque année des centaines de migrants ..."), never "the pages do not say".
            unit = next((u for u in showing if not given or fold(u.text) not in given), showing[0] if showing else None)
            return RankedUnit(unit, GOOD_SENTENCE, 0.0, True, True) if unit is not None else None
    names_topic = why in TOPIC_FIRST or (
        why == "intent" and entry is not None and names_entry(part.own_words, entry)
    )
    own = next((h for h in hits if h.in_topic and h.shows_type), None) if hits and not hits[0].in_topic else None
    if entry is not None and own is not None and own.score >= GOOD_SENTENCE:
        # The message named the topic: its own sentence answers unless another is clearly better
        # ("les principaux pays d'accueil" of the resettlement, not "pays ... d'accueil" elsewhere).
        # Unless the other holds the question's rare words and the topic's none ("..., dans
        # quelles régions les gens entreprennent des périples incertains, selon la page sur la
        # réinstallation ?": the pathways' sentence saying so, not a resettlement one sharing nothing).
        if names_topic and own.score >= hits[0].score - TOPIC_MARGIN and not (
            _holds_rare_words(index, hits[0], part) and not _rare_words_held(index, own, part)
        ):
            return own
        if why == "intent" and not _names_anything(index.kb, part):
            # "l oim c depui kel anne" read as what the OIM is: the question names nothing but the
            # OIM, so another topic's sentence ("Au cours des 70 dernières années, l'OIM ...")
            # matches it on words of phrasing only; the topic's own answers.
            return own
    return _earliest_if_since(hits, part) if hits else None


def _names_anything(kb: KnowledgeBase, part: Part) -> bool:
    """Whether the question brings a word of its own besides the organisation's name."""
    return any(len(w) > 3 and w not in _organisation_words(kb) for w in part.own_words)


def _with_type_terms(index: SentenceIndex, near: list[RankedUnit], part: Part) -> RankedUnit | None:
    """Of a follow-up naming little, the best of the topic's sentences saying what is asked in the
    type's own terms ("mais c'est à qui que ça revient ?": "... relèvent de la responsabilité des
    États"), unless clearly worse than the best: the words of the message before, added to the
    search, must not rank above it a sentence that only shares them ("... met en œuvre")."""
    qtype = part.analysis.qtype
    if not near or qtype is None or not qtype.terms or len(part.own_words) > index.kb.answering.followups.max_own_words:
        return None
    terms = {_prefix(w) for w in folded_words(qtype.terms)}
    termed = next((h for h in near if h.in_topic and terms & {_prefix(w) for w in folded_words(h.unit.text)}), None)
    if termed is None or termed is near[0] or termed.score < near[0].score - TOPIC_MARGIN:
        return None
    return termed


# A follow-up bringing this many words of its own that a sentence matches this well (search
# score) is answered by that sentence, even outside the topic.
OWN_QUESTION_WORDS = 2
OWN_QUESTION_MATCH = 0.6
# A yes/no question bringing this many words besides its topic's gets the closest sentence after the summary.
YES_NO_OWN_WORDS = 2
# Words besides a rare place a question must share with the one sentence naming it (_names_a_rare_place).
PLACE_AND_WORDS = 2
# A word used by this few sentences of the pages names one thing ("résolution", "publication").
RARE_WORD_UNITS = 3
# A sentence holding this many of the question's rare words answers it (_holds_rare_words).
RARE_WORDS_HELD = 2
# A follow-up's own word picks a sentence using it among those scoring this close to the best.
RARE_WORD_MARGIN = 0.1
# A list heading of this many words or more, named as a phrase by the question, is the list asked (_list_named).
LIST_HEADING_WORDS = 2
# A follow-up's own word used by this few sentences of the pages picks one using it, however far below.
FEW_UNITS_WORD = 2
# "pourquoi ... ?" is answered by a topic's sentence giving no reason marker if it matches this well.
REASON_UNMARKED_MATCH = 0.40


def _stems_alike(word: str, index: SentenceIndex) -> frozenset[str]:
    """The word's stem, and for a word the pages never use those of their words of the same
    meaning (search_words.yml): "adhérer" ~ "adhésion"; "partir" stays "partir", not "partance"."""
    if index.units_using(_prefix(word)):
        return frozenset({_prefix(word)})
    return _meaning_stems(word)


def _meaning_stems(word: str) -> frozenset[str]:
    """The (folded) word's stem and those of its words of the same meaning (search_words.yml)."""
    return frozenset({_prefix(word)} | {_prefix(other) for other in same_meaning().get(word, ())})


def _rarity(index: SentenceIndex, stems: frozenset[str]) -> int:
    """How many sentences use one of these stems (_stems_alike), counted for each."""
    return sum(map(index.units_using, stems))


def _word_meanings(words: Iterable[str]) -> list[frozenset[str]]:
    """For each distinct (folded) word, its _meaning_stems: computed once, then tried on many units."""
    return list({_prefix(w): _meaning_stems(w) for w in words}.values())


def _holds_every(unit: Unit, meanings: list[frozenset[str]]) -> bool:
    """Whether the unit uses every one of these words (_word_meanings), two at least, each itself,
    one of its family or one of its same meaning ("bureaux hors siège": "400 structures hors Siège")."""
    used = {_prefix(w) for w in folded_words(unit.text)}
    return len(meanings) >= 2 and all(stems & used for stems in meanings)


def _names(text: str, prefix: str) -> bool:
    """Whether the text writes a word starting with the (folded) prefix as a name: capitalised, not
    first in its sentence ("... 4 juillet 2006, Genève" names Genève)."""
    return any(
        fold(word).startswith(prefix) for word in re.findall(r"(?<=[\w,;:()] )[A-ZÀ-Ý][\w-]+", text)
    )


def _word_keys(text: str) -> set[str]:
    """The text's word prefixes and numbers, as _named_before gives them."""
    return {_prefix(w) for w in folded_words(text)} | set(re.findall(r"\d{2,}", text))


def _named_before(kb: KnowledgeBase, turn: Turn, entry: Entry) -> set[str]:
    """Word prefixes (and numbers) of the user's message before this one, besides the topic's title
    words, stop words, ordinals and years: they pick one of several ("le deuxième dialogue" /
    "c'était quand ?"), they do not name the thing asked about."""
    if len(turn.said) < 2:
        return set()
    before = turn.said[-2]
    title, stops = _title_words(entry), stop_words()
    picks = kb.answering.is_ordinal_or_year
    words = {_prefix(w) for w in folded_words(before) if len(w) > 3 and w not in stops and not picks(w)}
    return (words - title) | {n for n in re.findall(r"\d{2,}", before) if not picks(n)}


def _earliest_if_since(hits: list[RankedUnit], part: Part) -> RankedUnit:
    """The best hit; for "depuis quand ?", the one with the earliest year among those nearly as
    good: the Dialogues exist since their first one (2006), not since the latest (2013)."""
    if not _SINCE_WHEN.search(part.analysis.folded):
        return _best_naming_the_kind_asked(hits, part) or _tie_broken(hits, part)
    # A sentence saying "depuis 1951" answers in the question's own terms, a little below the best
    # ("l'OIM elle travaille depuis quelle année pour les migrations ?": not "L'année 2016 a marqué
    # un tournant pour la migration").
    stated = [h for h in hits if h.shows_type and h.score >= hits[0].score - SINCE_STATED_MARGIN and _SINCE_YEAR.search(fold(h.unit.text))]
    if stated:
        hits = stated
    close = [h for h in hits if h.shows_type and h.score >= hits[0].score - SINCE_MARGIN and _YEAR.search(h.unit.text)]
    if not close:
        return hits[0]
    return min(close, key=lambda h: (min(int(y) for y in _YEAR.findall(h.unit.text)), -h.score))


# "quelle guerre exactement ?": a thing of a kind, asked by its name.
# Not "quel exemple de professionnel ?", "quel type d'aide": the kind is what follows "de"; but
# "quels pays de l'UE" asks for countries.
_WHICH_KIND = re.compile(r"\bquel(?:le)?s? ([a-z]{4,})\b(?! de (?!l'|la |le |les )| d'\w)")


# A sentence naming the kind of thing asked ("quels avantages ?") this close to the best, which
# does not, answers before it.
KIND_MARGIN = 0.10


def _best_naming_the_kind_asked(hits: list[RankedUnit], part: Part) -> RankedUnit | None:
    """For "quels <noun> ?", the best hit using that noun when the best does not and it scores
    within KIND_MARGIN: "quand elle est bien gérée, quels avantages elle apporte ?" is answered
    by "Elle apporte des avantages considérables ...", not by the sentence sharing the clause."""
    # A kind of the question's own words: not "quel pays ?", whose answer names countries.
    kinds = {_prefix(k.rstrip("sx")) for k in _WHICH_KIND.findall(part.analysis.folded) if k in part.own_words}
    if not kinds or not hits:
        return None

    def names_kind(hit: RankedUnit) -> bool:
        return bool(kinds & {_prefix(w.rstrip("sx")) for w in folded_words(hit.unit.text)})

    if names_kind(hits[0]):
        return None
    return next((h for h in hits if h.score >= hits[0].score - KIND_MARGIN and h.shows_type and names_kind(h)), None)


# Hits scoring this close to the best are tied (_tie_broken).
TIE_MARGIN = 0.02


def _tie_broken(hits: list[RankedUnit], part: Part) -> RankedUnit:
    """The best hit; when it is an item of a list, among the items of that list as good as it
    (TIE_MARGIN), the one using the most of the question's words, those naming the topic included:
    the topic's title words rank none of its sentences above another, but "le dialogue de haut
    niveau de 2013, quel mois ?" is the item naming the Dialogue among that year's meetings, not
    the round table listed first."""
    first = hits[0].unit
    tied = [
        h for h in hits
        if h.score >= hits[0].score - TIE_MARGIN and first.list_item and h.unit.list_item and h.unit.section == first.section
    ]  # fmt: skip
    if len(tied) < 2:
        return hits[0]
    asked = {_prefix(w) for w in folded_words(part.text) if len(w) > 3 and w not in stop_words()}
    return max(tied, key=lambda h: len(asked & {_prefix(w) for w in folded_words(h.unit.text)}))


def _said_in(unit: Unit, folded_reply: str) -> bool:
    """Whether the answer before (folded) already quotes the unit, a list item's dash aside."""
    return _quoted_at(unit, folded_reply) >= 0


def _quoted_at(unit: Unit, folded_reply: str) -> int:
    """Where the answer before (folded) quotes the unit, a list item's dash aside (-1: it does not)."""
    return folded_reply.find(fold(unit.text).lstrip("-• "))


def _answers(hit: RankedUnit | None, entry: Entry | None, analysis: QuestionAnalysis) -> bool:
    if hit is not None and not hit.shows_type and analysis.evidence == "reason" and hit.in_topic:
        # A reason is often told without "car" or "pour": the topic's sentence saying what is asked
        # in its very words answers "pourquoi ... ne peut pas être gérée par un seul ministère ?"
        # ("... ne peut être abordée par un seul secteur de politique gouvernementale").
        return hit.search_score >= REASON_UNMARKED_MATCH
    if hit is None or not hit.shows_type:
        return False
    if analysis.evidence == "hashtag":
        return True  # the pages' one hashtag, however many story words thin the score out
    if analysis.evidence in STRICT_EVIDENCE:
        # Few sentences say "une personne sur sept" or "est liée à": one that does and matches
        # the question's words (sentence_search checks a proportion stands by them) answers it.
        return hit.score >= STRICT_SENTENCE
    if entry is None:
        return hit.score >= GOOD_WITHOUT_TOPIC
    strong = STRONG_MATCH_ON_PAGE if hit.on_topic_page else STRONG_MATCH
    if not hit.in_topic and analysis.qtype is None and hit.search_score < strong:
        return False  # a yes/no question about the topic: another topic's sentence must match well
    if hit.in_topic:
        return hit.score >= GOOD_SENTENCE
    return hit.score >= (GOOD_ON_PAGE if hit.on_topic_page else GOOD_OUTSIDE_TOPIC)


def _names_one_of_the_kind_asked(hit: RankedUnit, analysis: QuestionAnalysis) -> bool:
    """Whether a question of no type asks "quel <noun> ?" and the sentence names one of that kind
    with a capital ("quelle guerre ?": "... des cendres de la Seconde Guerre mondiale")."""
    kinds = {k.rstrip("sx") for k in _WHICH_KIND.findall(analysis.folded)}
    if not kinds:
        return False
    words = re.findall(r"[\w'’-]+", hit.unit.text)
    for at, word in enumerate(words):
        if fold(word).rstrip("sx") in kinds:
            around = words[max(0, at - 2) : at] + words[at + 1 : at + 3]
            if word[:1].isupper() or any(w[:1].isupper() for w in around if len(w) > 3):
                return True
    return False


# A name a question writes capitalised, not first ("... quitté la Tchécoslovaquie ...").
_CAPITALISED = re.compile(r"(?<=\s)[A-ZÀ-Ý][a-zà-ÿ]{3,}")


def _naming_what_is_asked(kb: KnowledgeBase, part: Part) -> str:
    """The question's sentences, or the whole message when they point back at the story before
    them ("il va vivre dans quel pays ?", "je compte comme migrante ?"): else the story's rare names
    and words are where the users are, not what they ask ("une famille réfugiée en Jordanie ...
    L'OIM intervient comment ?")."""
    question = _asking_sentences(part.text)
    if _stands_for_something(question) or set(folded_words(question)) & {fold(w) for w in kb.answering.first_person}:
        return part.text
    return question


def _names_a_rare_place(index: SentenceIndex, hit: RankedUnit | None, part: Part, turn: Turn, wanted: list[str]) -> bool:
    """Whether the best sentence holds a country (or a name) the question names that at most
    RARE_WORD_UNITS sentences of the pages name, and shows what is asked: "le professionnel de santé qui part de
    Malaisie va vivre dans quel pays ?" is about the one sentence naming Malaisie, whatever topic
    the classifier read ("santé": the health services)."""
    if hit is None or not hit.shows_type or hit.score < GOOD_SENTENCE:
        return False
    # The country entity, or another name the question writes capitalised ("... de Malaisie pour
    # travailler en Jordanie": the entity is the last one, Jordanie, which more sentences name).
    named = [turn.country] if turn.country and turn.country in wanted else []
    asked = {_prefix(w) for w in folded_words(part.text) if len(w) > 3 and w not in stop_words()}
    held = {_prefix(w) for w in folded_words(hit.unit.text)}
    for name in _rare_names(index, hit, [*named, *_CAPITALISED.findall(_naming_what_is_asked(index.kb, part))]):
        # More than the place in common: "je suis au Niger" or "la France propose combien de places ?"
        # are not about the sentence that merely names the country.
        place = {_prefix(w) for w in folded_words(name)}
        if len((asked - place) & held) >= PLACE_AND_WORDS or (
            # "the IOM a aidé en Hongrie en quelle année ?": the year written by that very name
            # ("la Hongrie en 1956") is the date asked, whatever else the sentence speaks of.
            part.analysis.evidence == "date" and _year_by_name(hit.unit.text, name)
        ):
            return True
    return False


def _year_by_name(text: str, name: str) -> bool:
    """Whether the text writes a year within three words of the name ("la Hongrie en 1956")."""
    near = _THREE_WORDS
    year = r"(?:1[89]|20)\d\d\b"
    named = re.escape(name)
    return bool(re.search(rf"{named}[\s,()]+{near}\(?{year}|\b{year}\)?[\s,()]+{near}{named}", text, re.IGNORECASE))


# Question types asking a fact of the pages rather than what to do ("comment", "où aller").
FACT_TYPES = frozenset({"date", "count", "founding"})


def _rare_names(index: SentenceIndex, hit: RankedUnit, names: list[str]) -> list[str]:
    """The names, in order and once each, that the sentence holds and at most RARE_WORD_UNITS
    sentences of the pages name ("la Tchécoslovaquie")."""
    return [n for n in dict.fromkeys(names) if _holds(hit.unit, [n]) and _units_naming(index, n) <= RARE_WORD_UNITS]


@lru_cache(maxsize=1024)
def _units_naming(index: SentenceIndex, name: str) -> int:
    """How many sentences and items of the pages name this (cached: a name capitalised in a
    question is counted over the ~3,000 units once per index)."""
    return sum(_holds(unit, [name]) for unit in index.units)


def _holds_rare_words(index: SentenceIndex, hit: RankedUnit | None, part: Part) -> bool:
    """Whether the sentence holds RARE_WORDS_HELD words of the question that at most
    RARE_WORD_UNITS sentences of the pages use each: "c'est quoi la grosse publication de l'OIM, le
    rapport phare ?" is about the one sentence saying "la publication phare de l'OIM", whatever
    the classifier read."""
    if hit is None or hit.score < GOOD_SENTENCE or not hit.shows_type:
        return False  # "combien de migrants sont détenus dans les centres ?": no figure, no answer
    if _rare_words_held(index, hit, part) >= RARE_WORDS_HELD:
        return True
    # One noun only a sentence or two use, asked of with a type the sentence shows: "dans l'exemple
    # du professionnel de la santé, il part de quel pays pour aller où ?" (not the health services).
    # A noun: "rentrer" is rare in the pages too, but names nothing.
    if part.analysis.qtype is None or part.analysis.evidence == "none":
        return False  # nor "comment je peux les faire venir ?": no kind of fact the sentence shows
    held = {_prefix(w) for w in folded_words(hit.unit.text)}
    # Not a word of phrasing ("dans l'exemple de ..."), nor "oim"; the parse only when one is held.
    rare = {w for w in part.own_words if len(w) > 3 and _prefix(w) in held and index.units_using(_prefix(w)) <= FEW_UNITS_WORD}
    return bool(rare) and any(t.pos_ == "NOUN" and fold(t.text) in rare for t in search_docs([part.text])[0])


def _rare_words_held(index: SentenceIndex, hit: RankedUnit, part: Part) -> int:
    """How many words of the question that at most RARE_WORD_UNITS sentences use the unit holds,
    with its heading ("Secrétariat" says what "Division de la population du DAES" is)."""
    held = {_prefix(w) for w in folded_words(f"{hit.unit.section} {hit.unit.text}")}
    asking = _naming_what_is_asked(index.kb, part)
    asked = {_prefix(w) for w in folded_words(asking)} if asking != part.text else None
    rare = {
        _prefix(w) for w in part.own_words
        if len(w) > 3 and (asked is None or _prefix(w) in asked) and index.units_using(_prefix(w)) <= RARE_WORD_UNITS
    }  # fmt: skip
    return len(rare & held)


def _aspect_hits(
    index: SentenceIndex, part: Part, entry: Entry | None, within_topic: bool = True
) -> tuple[RankedUnit | None, RankedUnit | None]:
    """(answer, near) for an aspect (e.g. 'critères' for conditions), from one ranking of the
    topic's units: the best showing the aspect's evidence at ASPECT_ANSWERED or more, else (with a
    topic) the best showing it among the ASPECT_NEAR_RANKS first, quoted after the gap."""
    evidence, aspect = part.analysis.aspect_evidence, part.analysis.aspect
    if evidence is None or aspect is None:
        return None, None
    query = f"{part.text} {aspect.terms}".strip()
    ranked = index.rank(query, entry, "none", k=20, within_topic=within_topic and entry is not None)
    showing = [(rank, hit) for rank, hit in enumerate(ranked) if evidence.search(fold(hit.unit.text))]
    answer = next((hit for _, hit in showing if hit.search_score >= ASPECT_ANSWERED), None)
    if answer is None and entry is not None and aspect.terms:
        # A story around the question ("mon frère est malade, il a perdu ses papiers, il peut
        # quand même rentrer ?") thins every score out: the topic's sentences are then ranked
        # on the aspect's own words alone.
        alone = index.rank(aspect.terms, entry, "none", k=5, within_topic=within_topic)
        answer = next(
            (h for h in alone if evidence.search(fold(h.unit.text)) and h.search_score >= ASPECT_ANSWERED), None
        )
    if answer is not None or entry is None:
        return answer, None
    touching = aspect.related_pattern or evidence
    near = [(rank, hit) for rank, hit in enumerate(ranked) if touching.search(fold(hit.unit.text))]
    return None, next((hit for rank, hit in near if rank < ASPECT_NEAR_RANKS), None)


def _list_named(index: SentenceIndex, part: Part, entry: Entry | None) -> RankedUnit | None:
    """The list whose heading the question names word for word, a heading of two words or more
    beyond the topic's title ("vous pouvez me citer quelques axes stratégiques actuels du Dialogue ?":
    the list "Axes stratégiques actuels"), the topic's own first. Not for a question whose type one
    item may show ("c'était quand la réunion récente ?": the item with the date)."""
    evidence = part.analysis.evidence
    if evidence != "none" and evidence not in LIST_EVIDENCE:
        return None
    asked = " ".join(_heading_keys(part.text))
    title = _title_words(entry) if entry is not None else set()
    topic = index.topic_passages(entry)
    found: RankedUnit | None = None
    for unit in index.units:
        if not unit.list_item or (found is not None and found.in_topic):
            continue
        heading = _heading_keys(unit.section)
        # Named as a phrase, its words in a row: not "les États sont obligés d'y participer ?".
        if len(heading) >= LIST_HEADING_WORDS and f" {' '.join(heading)} " in f" {asked} " and set(heading) - title:
            in_topic = unit.passage_id in topic
            if found is None or in_topic:
                found = RankedUnit(unit, GOOD_SENTENCE, 0.0, in_topic, True)
    return found


# A name in capitals ("CRISP") the question asks about; the sentence defining it says "(CRISP) est ..."
# or opens with "CRISP est ...". Not a name most sentences use ("OIM"): its definition is the topic's.
_CAPITALS_NAME = re.compile(r"\b[A-Z][A-Z0-9]{2,}\b")
DEFINED_NAME_MAX_UNITS = 3


def _defining_sentence(index: SentenceIndex, part: Part, entry: Entry | None) -> RankedUnit | None:
    """For a question asking what a rare name in capitals is ("c'est quoi CRISP ?") or naming only it
    ("et CRISP ?"), the sentence of the pages defining it; None for any other question."""
    names = [n for n in _CAPITALS_NAME.findall(part.text) if 0 < index.units_using(fold(n)) <= DEFINED_NAME_MAX_UNITS]
    if len(names) != 1:
        return None
    name = names[0]
    rest = [w for w in part.own_words if w != fold(name)]
    if rest and not (part.analysis.qtype is None and index.kb.answering.asks_definition(part.analysis.folded)):
        return None
    defines = re.compile(rf"\({re.escape(name)}\) est\b|^(?:L'|L’|Le |La |Les )?{re.escape(name)} est\b")
    topic = index.topic_passages(entry)
    for unit in index.units:
        if not unit.list_item and defines.search(unit.text):
            return RankedUnit(unit, GOOD_SENTENCE, 0.0, unit.passage_id in topic, True)
    return None


@lru_cache(maxsize=1024)
def _heading_keys(text: str) -> tuple[str, ...]:
    """Prefixes of a text's words of three letters or more, in order (no figure: "(195 États)");
    cached: every question reads the headings of the pages' ~270 list items (0.7 ms uncached)."""
    return tuple(_prefix(w) for w in folded_words(text) if len(w) > 2 and w.isalpha())


def _asks_for_help(kb: KnowledgeBase, part: Part) -> bool:
    """A message about the user's own wish or case ("je veux rentrer, aidez-moi") that asks no
    question type nor aspect, nor whether something is so: it wants the programme, not one of its
    sentences."""
    analysis = part.analysis
    if analysis.qtype is not None or analysis.aspect is not None or kb.answering.asks_whether(analysis.folded):
        return False
    words = set(folded_words(part.text))
    return bool(words & {fold(w) for w in kb.answering.first_person})


def _is_generic(kb: KnowledgeBase, part: Part, entry: Entry) -> bool:
    """'c'est quoi le rapatriement ?': nothing asked beyond the topic itself."""
    qtype = part.analysis.qtype
    if (qtype is not None and not qtype.summary_of_topic_alone) or part.analysis.aspect is not None:
        return False
    title = _title_words(entry) | {_prefix(w) for w in folded_words(entry.programme or "")}
    if all(_prefix(w) in title or w in GENERIC_TITLE_WORDS for w in part.own_words):
        return True
    # "c'est quoi les voies complémentaires pour les réfugiés ?": what the topic is, for whom its
    # summary (or the facts it is made of) says it is. So too "ce que fait l'OIM en matière de
    # réinstallation des réfugiés ?": what it does there is the topic's summary.
    asks_topic = kb.answering.asks_definition(part.analysis.folded) or (qtype is not None and qtype.summary_of_topic_told)
    if not asks_topic or not names_entry(part.own_words, entry):
        return False
    summary = _summary_prefixes(entry)
    return all(_prefix(w) in title or _prefix(w) in summary or w in GENERIC_TITLE_WORDS for w in part.own_words)


def _summary_prefixes(entry: Entry) -> set[str]:
    """Word prefixes of what the entry says: its curated answer and the facts it is made of."""
    said = " ".join([entry.answer, *(f"{fact.value} {fact.quote}" for fact in entry.facts)])
    return {_prefix(w) for w in folded_words(said)}


def say_gap(
    reply: Reply,
    kb: KnowledgeBase,
    entry: Entry | None,
    missing: str,
    domain: DomainDict,
    kind: str = "point",
    near: RankedUnit | None = None,
) -> None:
    """'The documents do not say <point>' (or 'do not speak of <words>') first, then what they
    say about the topic (`near`: the sentence closest to the point, else the summary), then the contact."""
    if entry is None:
        reply.say(f"utter_gap_{kind}", missing=missing)
        return
    reply.say(
        f"utter_gap_{kind}_topic",
        missing=missing,
        title=entry.title,
        summary=_cut(f"{near.unit.context} {near.unit.text}", MAX_SENTENCE_CHARS) if near else _summary_line(entry),
        sources=kb.source_title(near.unit.passage_id)
        if near
        else " ; ".join(dict.fromkeys(kb.source_title(s) for s in entry.sources[:1])),
    )
    contacts = contacts_for_entry(kb, entry)
    if contacts:
        for contact in contacts:
            reply.say(
                "utter_contact_card",
                card=contact_card(contact, domain),
                sources=kb.source_title(contact.source),
            )
    else:
        reply.say("utter_gap_contact", title=entry.title)


def say_unit(
    reply: Reply, kb: KnowledgeBase, index: SentenceIndex, hit: RankedUnit, part: Part, entry: Entry | None,
    list_asked: bool = False,
) -> None:
    # A list item answers alone when it shows what was asked ("quand a eu lieu la table ronde ?");
    # "quels sont les observateurs ?" or "combien d'États participants ?" want the list, as does a
    # question naming the list's heading (`list_asked`).
    evidence = part.analysis.evidence
    whole_list = hit.unit.list_item and (
        list_asked
        or evidence in LIST_EVIDENCE
        or (evidence != "none" and not text_shows(hit.unit.text, evidence))
        or _names_the_heading_only(hit.unit, part)
    )
    summary = _summary_line(entry) if entry is not None and hit.in_topic else ""
    sentence = section_opening(index, hit.unit, part) or unit_text(index, hit.unit, whole_list, _list_words(part, entry))
    reply.say(
        "utter_focused_answer",
        sentence=sentence,
        summary=f"\n\n{summary}" if summary and fold(summary) not in fold(hit.unit.text) else "",
        sources=source_of(kb, hit.unit),
    )


def _fact_asked(index: SentenceIndex, part: Part, entry: Entry | None) -> RankedUnit | None:
    """The sentence quoted by the topic's curated fact whose label, made of question words, the
    question says word for word ("Depuis" in "depuis quand ... ?") and whose value shows what the
    question type asks for; the most specific label when several do, none on a tie."""
    if entry is None or part.analysis.qtype is None:
        return None
    said = set(folded_words(part.analysis.folded))
    cues = index.kb.answering.cue_words  # a label made of question words ("Depuis"), not a name ("Session")
    evidence = part.analysis.evidence
    found: list[tuple[int, Unit]] = []
    for fact in entry.facts:
        label = {w for w in folded_words(fact.label) if len(w) > 2}
        if not label or not label <= said & cues or (evidence != "none" and not text_shows(fact.value, evidence)):
            continue
        quote = fold(fact.quote)
        unit = next((u for u in index.units if not u.id.endswith("w") and quote in fold(u.text)), None)
        if unit is not None:
            found.append((len(label), unit))
    found.sort(key=lambda f: -f[0])
    if not found or (len(found) > 1 and found[0][0] == found[1][0]):
        return None
    return RankedUnit(found[0][1], GOOD_SENTENCE, 0.0, True, True)


def _names_the_heading_only(unit: Unit, part: Part) -> bool:
    """Whether the question names a list's heading and nothing of the item found ("c'est quoi les
    axes de travail du Dialogue ?": "Axes stratégiques actuels", every item, not the first)."""
    heading = {_prefix(w) for w in folded_words(unit.section) if len(w) > 2}
    item = {_prefix(w) for w in folded_words(unit.text) if len(w) > 2} - heading
    asked = {_prefix(w.rstrip("sx")) for w in part.own_words if len(w) > 2}
    heading = heading | {h.rstrip("sx") for h in heading}
    return bool(asked & heading) and not asked & item


# "à la demande de qui ?", "en partenariat avec qui ?": up to three words and a preposition before "qui".
_SUBJECTS = frozenset({"oim", "je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles"})
_WHO_FRAME = re.compile(r"\b((?:[a-z]+ ){1,3}(?:de|d.|par|avec|aupres de|pour)) qui\b")


def _echoed_frame(index: SentenceIndex, part: Part, entry: Entry | None) -> RankedUnit | None:
    """A sentence saying the question's own frame with someone in it answers "who": "à la demande
    de qui ?" -> "organisés à la demande de la personne qui rentre" (not "une demande d'asile").
    Only a frame with a word of meaning ("demande", "partenariat"): "avec qui" alone echoes anything."""
    qtype = part.analysis.qtype
    if qtype is None or qtype.name not in ("who", "who_unnamed"):
        return None
    found = _WHO_FRAME.search(part.analysis.folded)
    if found is None:
        return None
    frame = found.group(1)
    if not any(len(word) > 3 and word not in stop_words() for word in frame.split()):
        return None
    if set(frame.split()) & _SUBJECTS:
        return None  # "l'OIM travaille avec qui ?": any sentence of what it does with someone echoes it

    return _best_saying(index, part, entry, re.compile(rf"\b{re.escape(frame)} (?!qui\b)[a-z]"))


def _best_saying(index: SentenceIndex, part: Part, entry: Entry | None, said: re.Pattern[str]) -> RankedUnit | None:
    """The best-ranked sentence whose folded text matches `said`, of the topic when there is one
    ("l'OIM travaille avec qui pour la réinstallation ?" is not answered by "L'OIM travaille avec ses
    Etats membres ..." of the integration)."""
    ranked = index.rank(part.text, entry, part.analysis.evidence, k=20)
    return next((h for h in ranked if said.search(fold(h.unit.text)) and (h.in_topic or entry is None)), None)


# "il aide les migrants les plus quoi ?": the blank after a superlative.
_SUPERLATIVE_BLANK = re.compile(r"\b(?:le|la|les) plus (?:quoi|quel|quels|quelle|quelles)\b")
_SUPERLATIVE = re.compile(r"\b(?:le|la|les) plus [a-z]{4,}")


def _superlative_blank(index: SentenceIndex, part: Part, entry: Entry | None) -> RankedUnit | None:
    """The best sentence of the topic (of the pages without one) saying "les plus <adjective>" for a
    question leaving that adjective blank ("... les plus quoi ?" -> "les plus vulnérables")."""
    if not _SUPERLATIVE_BLANK.search(part.analysis.folded):
        return None
    return _best_saying(index, part, entry, _SUPERLATIVE)


def unknown_points(
    kb: KnowledgeBase, index: SentenceIndex, part: Part, turn: Turn, situation: SituationRule | None
) -> list[str]:
    """The nouns the question asks about that no page uses ("combien de kilos de bagages ?")."""
    analysis = part.analysis
    ignore = frozenset(fold(w) for w in (turn.country or "").split()) | GENERIC_TITLE_WORDS | kb.answering.empty_words
    # Nouns of the question's own cues ("dans quelle zone", "quel continent") name no point.
    cue_words = frozenset(folded_words(analysis.folded)) - frozenset(folded_words(analysis.rest))
    # Nor do the words that tell the user's situation ("malade du coeur", "prendre l'avion").
    story = frozenset(fold(w) for group in situation.all_of for w in group) if situation else frozenset()
    unknown = index.unknown_nouns(_asking_sentences(part.text), ignore | cue_words | story)
    main = kb.answering.main_clause(analysis.folded)
    if unknown and main != analysis.folded:
        # "Dans la chronologie des crises de l'OIM, quel événement est associé à 1975 ?": the
        # setting is not what is asked, and the search ranks what is asked after it.
        unknown = [word for word in unknown if fold(word) in folded_words(main)]
    return unknown


def answer_part(
    kb: KnowledgeBase,
    part: Part,
    turn: Turn,
    domain: DomainDict,
    topic: Entry | None,
    nlu_entry: Entry | None,
    mode: str,
) -> tuple[Reply, Entry | None]:
    """One question's reply and the entry it was about."""
    index = sentence_index(kb)
    entry, why = choose_entry(kb, part, turn, topic, nlu_entry)
    if why == "followup":
        part = _with_type_of_message_before(kb, part, turn)
    reply = Reply()
    analysis = part.analysis
    # The situation the message tells (answering.yml), read once for the branches below.
    situation = kb.answering.situation(part.text, turn.said[:-1][-2:])
    terms = situation.terms if why == "situation" and situation is not None else ""
    as_written = part  # before the situation's words are added
    asks_a_fact = analysis.qtype is not None and analysis.qtype.name in FACT_TYPES
    if terms and not (asks_a_fact and _YEAR.search(part.text)):
        # Not for a count of a year asked beside the story ("..., combien de bénéficiaires en
        # 2018 ?"): the pages' words for the case are no words of that fact (they are for "on ne
        # sait même pas combien ils sont" of a mayor: the local migration profiles).
        # The user's words for their case ("je suis maire") are not the pages' ("autorités locales").
        part = replace(part, text=f"{part.text} {terms}")

    wanted = _wanted(index, part, turn, entry, why)  # the years, ordinals and country a sentence must name
    facts: list[RankedUnit | None] = []
    if why == "situation" and asks_a_fact:
        # "Ma grand-mère a quitté la Tchécoslovaquie avec l'aide de l'OIM, c'était en quelle année
        # cette crise-là ?": a fact asked of the one sentence naming that place is no case to help
        # with, though the words tell of one (the evacuations).
        named = _best(index, as_written, turn, None, "none", [])
        if named is not None and named.shows_type and named.score >= GOOD_SENTENCE and _rare_names(index, named, _CAPITALISED.findall(as_written.text)):
            about = entry_of_unit(kb, index, named.unit)
            say_unit(reply, kb, index, named, as_written, about)
            return reply, about

    def labelled_fact() -> RankedUnit | None:
        """The topic's fact labelled as the question asks, looked up once and only when needed."""
        if not facts:
            asks_fact = entry is not None and why != "situation" and not wanted
            facts.append(_fact_asked(index, part, entry) if asks_fact else None)
        return facts[0]

    said = _in_reply_just_given(index, part, turn)
    if (
        said is not None and topic is not None and entry is not None and entry.id != topic.id and why != "followup"
        and labelled_fact() is not None
    ):
        # On another topic than the reply just given, that topic's labelled fact answers first
        # ("depuis quand l'OIM existe ?" then "et elle fait partie de l'ONU depuis quand ?": 2016,
        # not the "depuis 1951" of the sentence just given).
        said = None
    if said is not None:
        # "qui dirigeait l'OIM pendant le Conseil ?" / "il a parlé devant combien d'États ?": the
        # figure is in the sentence just given ("... s'est adressé aux 173 États membres").
        about = entry_of_unit(kb, index, said.unit) or entry
        say_unit(reply, kb, index, said, part, about)
        return reply, about
    if analysis.aspect is not None and entry is not None and analysis.aspect.entry_aspect in entry.aspects:
        return _summary_reply(kb, turn, domain, entry, why, aspect=analysis.aspect.entry_aspect), entry
    if analysis.aspect is not None:
        # A follow-up of question words only ("surtout pour qui ?") asks it of what the message
        # before spoke of ("... n'ont pas de structures d'accueil de base ?"): ranked with its words.
        asked = replace(part, text=f"{turn.said[-2]} {part.text}") if not part.own_words and len(turn.said) > 1 else part
        hit, near = _aspect_hits(index, asked, entry)
        if hit is None and entry is None and not unknown_points(kb, index, part, turn, situation):
            # No topic yet, and words around the question thin every score out ("pour rentrer de
            # libye, ils regardent quoi comme critères pour accepter quelqu'un ?"): the topic of
            # the sentence ranked first is searched as the topic would be.
            ranked = index.rank(part.text, None, "none", k=1)
            guess = entry_of_unit(kb, index, ranked[0].unit) if ranked else None
            hit = _aspect_hits(index, asked, guess)[0] if guess is not None else None
        if hit is None and entry is not None and wanted:
            # "pour ramener les migrants depuis la Libye, quel transport ?" about the movement
            # assistance: a sentence of its page naming that very place, though another topic's.
            wider = _aspect_hits(index, part, entry, within_topic=False)[0]
            if wider is not None and wider.on_topic_page and _holds(wider.unit, wanted):
                hit, near = wider, None
        if hit is None and topic is not None and entry is not None and topic.id != entry.id and not named_entries(kb, part.own_words):
            # "le retour humanitaire volontaire depuis le Yémen ?" then "et on voyage comment, avion
            # ou bateau ?", read as the movement assistance, whose passages name no means: the
            # topic of the conversation does ("vols charters et mouvements maritimes").
            earlier = _aspect_hits(index, asked, topic)[0]
            if earlier is not None:
                hit, near, entry = earlier, None, topic
        if hit is not None:
            say_unit(reply, kb, index, hit, part, entry)
            if entry is None:
                # No topic before: the sentence's own is the conversation's now ("... comment l'OIM
                # décide qui passe en premier ?" then "et pour les transporter, ils utilisent quoi ?").
                return reply, entry_of_unit(kb, index, hit.unit)
        else:
            # Not answered, but the topic's best sentences may touch the point ("documents
            # disponibles pour voyager" for "which papers?"): the gap first, then that sentence.
            say_gap(reply, kb, entry, analysis.aspect.missing, domain, near=near)
        return reply, entry

    since = kb.answering.relative_time(analysis.folded) if analysis.evidence in ("number", "proportion") else None
    if since is not None:
        # "combien de migrants rentrés du Yémen l'an dernier ?": the pages are dated and give no
        # figure for a time told from today; said first, then the closest figure they do give.
        hit = _best(index, part, turn, entry, why, wanted)
        return _gap_then_closest(reply, kb, index, part, entry, hit, _as_written(part.text, since), domain, "when")

    found: list[RankedUnit | None] = []

    def best() -> RankedUnit | None:
        """The best unit for the question, ranked once and only when a branch needs it."""
        if not found:
            found.append(_best(index, part, turn, entry, why, wanted))
        return found[0]

    if why != "situation":
        unknown = unknown_points(kb, index, part, turn, situation)
        if unknown:
            hit = best()
            # A kind of fact few sentences show, shown by the best ("c'est quoi leur hashtag ?": the
            # one hashtag of the pages), answers whatever story words are around it ("foyer").
            strict = hit is not None and hit.shows_type and analysis.evidence in STRICT_EVIDENCE
            if not strict and (hit is None or hit.score < UNKNOWN_WORDS_OVERRIDE):
                # The point named is not in the pages: said first. A sentence that still answers
                # the rest of the question ("combien de migrants sur la planète ?") comes after it.
                words = " », « ".join(unknown)
                return _gap_then_closest(reply, kb, index, part, entry, hit, words, domain, "words")

    echoed = (_echoed_frame(index, part, entry) or _superlative_blank(index, part, entry)) if why != "situation" else None
    if echoed is not None:
        say_unit(reply, kb, index, echoed, part, entry)
        return reply, entry if echoed.in_topic else entry_of_unit(kb, index, echoed.unit) or entry
    listed = _list_named(index, part, entry) if why != "situation" else None
    if listed is not None:
        # "vous pouvez me citer quelques axes stratégiques actuels du Dialogue ?": the list so headed.
        say_unit(reply, kb, index, listed, part, entry, list_asked=True)
        return reply, entry if listed.in_topic else entry_of_unit(kb, index, listed.unit) or entry
    defining = _defining_sentence(index, part, entry) if why != "situation" else None
    if defining is not None:
        # "c'est quoi CRISP ?", "et CRISP ?": "L'initiative pour ... (CRISP) est une initiative ...".
        say_unit(reply, kb, index, defining, part, entry)
        return reply, entry if defining.in_topic else entry_of_unit(kb, index, defining.unit) or entry
    if why == "situation" and entry is not None and analysis.qtype is None:
        summary = _summary_reply(kb, turn, domain, entry, why)  # the programme for their case
        if terms:
            _add_closest_sentence(summary, kb, index, part, entry, terms)  # the pages' words for the case
        else:
            beyond = _beyond_situation(kb, part.text, situation.all_of if situation else [])
            if beyond:
                _add_closest_sentence(summary, kb, index, replace(part, text=beyond), entry)
        return summary, entry
    if entry is not None and why in ("intent", "programme", "named") and _is_generic(kb, part, entry):
        return _summary_reply(kb, turn, domain, entry, why), entry
    if (
        entry is not None and turn.intent in ASPECT_INTENTS and why == "intent"
        # The classifier's aspect, unless the question brings words of its own and no cue of any
        # aspect ("en soutien à qui ?" read as who may benefit: who the OIM supports, the HCR).
        and (analysis.aspect is not None or not part.own_words or analysis.qtype is None)
    ):
        return _summary_reply(kb, turn, domain, entry, why), entry
    if (
        entry is not None and why in ("intent", "programme") and _asks_for_help(kb, part)
        # "je suis infirmière, je pars de Malaisie pour la Jordanie, je compte comme migrante ?":
        # the one sentence naming that place and more of the message tells of their case.
        and not _names_a_rare_place(index, best(), part, turn, wanted)
    ):
        # "jveu rentré o pays aidé moi": a wish, not a question on a detail: the programme itself.
        summary = _summary_reply(kb, turn, domain, entry, why)
        told = kb.answering.situation(part.text, ()) if why == "programme" else None
        other = kb.entry(told.entry) if told is not None and told.entry != entry.id else None
        if other is not None:
            # "mon père est malade, il doit prendre l'avion pour sa réinstallation, quelqu'un peut
            # l'accompagner ?": the programme named, then what the pages offer for the case told.
            summary.messages.extend(_summary_reply(kb, turn, domain, other, "situation").messages)
        return summary, entry

    listed = _list_just_given(index, part, turn)
    if listed is not None:
        # "et le troisième c'est lequel ?" after "les trois premiers pays ... étaient A, B et C".
        say_unit(reply, kb, index, listed, part, entry)
        return reply, entry
    if wanted and not _pages_name(index, wanted):
        # "le troisième Dialogue", "en 1990": no page names it, so no sentence can answer. The
        # sentence answering the rest follows the gap when one does ("les boat people, l'OIM s'en
        # est occupée en 1980, c'est bien ça ?": the pages say 1975).
        # Only after a year: a sentence on the second Dialogue would read as the answer on the third.
        # "l'OIM a aidé les gens de Tchécoslovaquie en 1986 ??": the pages name that country with
        # another year; the year is what they miss, the sentence naming the country follows.
        besides_years = [w for w in wanted if not w.isdigit()]
        if besides_years and not _pages_name(index, besides_years):
            besides_years = []
        rest = _best(index, part, turn, entry, why, besides_years) if besides_years or all(w.isdigit() for w in wanted) else None
        near = (
            rest if rest is not None and rest.in_topic
            and (_answers(rest, entry, analysis) or (besides_years and _holds(rest.unit, besides_years)))
            else None
        )  # fmt: skip
        missed = [w for w in wanted if w not in besides_years]
        missing = " ".join(_as_written(part.text, fold(w)) for w in missed)  # "troisième", not "troisieme"
        say_gap(reply, kb, entry, missing, domain, kind="words", near=near)
        return reply, entry
    labelled = labelled_fact()
    if labelled is not None:
        # "depuis quand l'OIM est à l'ONU ?": the topic's fact labelled "Depuis" (2016), not the
        # sentence that says "depuis 1951" of something else.
        say_unit(reply, kb, index, labelled, part, entry)
        return reply, entry
    hit = best()
    if (
        _answers(hit, entry, analysis)
        or _names_a_rare_place(index, hit, part, turn, wanted)
        or _holds_rare_words(index, hit, part)
        or (hit is not None and analysis.qtype is None and hit.search_score >= GOOD_SENTENCE and _names_one_of_the_kind_asked(hit, analysis))
        # "quel événement est associé à 1975 ?": the topic's sentence naming the year asked.
        # Not a count or an outcome asked of that year: the sentence must give it.
        or (hit is not None and hit.in_topic and analysis.qtype is None and any(_YEAR.fullmatch(w) for w in wanted))
    ):
        assert hit is not None
        say_unit(reply, kb, index, hit, part, entry)
        if why == "situation":
            reply.messages.insert(
                0, {"response": "utter_situation_intro", "title": entry.title if entry else ""}
            )
        # The conversation's topic is now what the sentence is about, for the next follow-up.
        if entry is not None and (hit.in_topic or _in_a_section_of(index, hit.unit, entry)):
            return reply, entry
        return reply, entry_of_unit(kb, index, hit.unit) or entry

    if entry is not None:
        if analysis.qtype is not None and why == "followup":
            say_gap(reply, kb, entry, analysis.qtype.missing, domain)
            return reply, entry
        if wanted and analysis.evidence in ("number", "date") and not _holds_text(entry.answer, wanted):
            # "combien de personnes relocalisées en 2020 ?": no sentence gives that figure and the
            # topic's summary does not speak of that year: say so for that point first; then the
            # topic's sentence naming what is asked, if one does ("... étaient les États-Unis
            # d'Amérique, le Canada et l'Australie" for a count in Australia in 2019).
            near = hit if hit is not None and hit.in_topic and _holds(hit.unit, wanted) else None
            if near is None and analysis.evidence == "date" and all(w.isdigit() for w in wanted):
                # "la résolution ... date de 2005, c'est vrai ?": the topic's sentence giving its date.
                rest = _best(index, part, turn, entry, why, [])
                near = rest if rest is not None and rest.in_topic and _answers(rest, entry, analysis) else None
            say_gap(reply, kb, entry, analysis.qtype.missing if analysis.qtype else "ce point", domain, near=near)
            return reply, entry
        if mode == "intent" or why in ("situation", "programme", "named"):
            summary = _summary_reply(kb, turn, domain, entry, why)
            extra = [w for w in part.own_words if len(w) > 3 and not names_entry((w,), entry)]
            if analysis.qtype is None and analysis.aspect is None and len(extra) >= YES_NO_OWN_WORDS:
                # "à part la réinstallation, l'OIM veille à quoi pour les migrants ?" read as the movement
                # assistance: its summary, then the sentence closest to what is asked ("bien-être").
                _add_closest_sentence(summary, kb, index, part, entry)
            elif terms:
                # "..., comment l'OIM peut nous accompagner ?" of a case told: the pages' words for it.
                _add_closest_sentence(summary, kb, index, part, entry, terms)
            return summary, entry
    return reply, None


# "et le premier ?", "et l'autre ?": another of the same things, asked as the message before asked
# (not "et le Liban ?" after "combien de pays membres ?": whether it is one, not a count).
_AND_THE_OTHER = re.compile(
    r"^(?:et|mais|puis) (?:le |la |les |l')(?:premier|premiere|deuxieme|second|seconde|troisieme|autre|autres"
    r"|suivant|suivante|precedent|precedente|dernier|derniere)s?\b[^?]{0,30}\??\s*$"
)


# "et de tables rondes ?", "et des observateurs ?": more of what the message before counted or listed.
_AND_OF = re.compile(r"^(?:et|mais) (?:de |d'|des |du )\w+(?: \w+)?\s*\??\s*$")


def _gap_then_closest(
    reply: Reply, kb: KnowledgeBase, index: SentenceIndex, part: Part, entry: Entry | None,
    hit: RankedUnit | None, missing: str, domain: DomainDict, kind: str,
) -> tuple[Reply, Entry | None]:
    """The point the pages do not give said first, then the sentence still answering the rest of
    the question when one does (under its own topic when it is another's), and the entry it was about."""
    near = hit if _answers(hit, entry, part.analysis) else None
    about = entry if near is None or near.in_topic else entry_of_unit(kb, index, near.unit) or entry
    say_gap(reply, kb, about, missing, domain, kind=kind, near=near)
    if about is None and near is not None:
        # No topic to say it under: the sentence after the gap, with its own source.
        say_unit(reply, kb, index, near, part, None)
    return reply, about


def _as_written(text: str, folded: str) -> str:
    """The words of the text that fold to the folded phrase, as the user wrote them ("l'année
    dernière" for "l'annee derniere"); the folded phrase when they cannot be found."""
    words = re.findall(r"\S+", text)
    size = len(folded.split())
    for start in range(len(words) - size + 1):
        span = " ".join(words[start:start + size])
        if fold(span).strip(" ,;:?!.") == folded:
            return span.strip(" ,;:?!.")
    return folded


def _with_type_of_message_before(kb: KnowledgeBase, part: Part, turn: Turn) -> Part:
    """A follow-up asking when, read with the message before when together they ask more:
    "pourquoi l'OIM a été créée ?" / "et c'était quand ?" asks when it was founded (a sentence
    saying "depuis 1951"), not any date of its topic. Not one naming something of its own ("et le
    Kosovo c'était en quelle année ?" after "... depuis sa création ?": the year of that crisis).
    One asking nothing ("et le premier ?") asks what the message before asked."""
    if len(turn.said) < 2:
        return part
    folded = fold(part.text)
    if part.analysis.qtype is None and part.analysis.aspect is None and (_AND_THE_OTHER.match(folded) or _AND_OF.match(folded)):
        # "et le premier ?" after "le deuxième Dialogue, il s'est tenu quand ?", "et de tables rondes ?"
        # after "combien de séances plénières ?": the same question.
        before = kb.answering.question_type(fold(turn.said[-2]))
        if before is None:
            return part
        return replace(part, analysis=replace(part.analysis, qtype=before, evidence=before.evidence))
    if part.analysis.evidence != "date" or part.own_words:
        return part
    joined = kb.answering.question_type(fold(f"{turn.said[-2]} {part.text}").replace("?", " "))
    if joined is None or joined.evidence != "founding":
        return part
    return replace(part, analysis=replace(part.analysis, qtype=joined, evidence=joined.evidence))


def _list_just_given(index: SentenceIndex, part: Part, turn: Turn) -> RankedUnit | None:
    """For "et le troisième ?" naming nothing else, the sentence of the reply just given that
    lists three things or more (its third is the answer), else None."""
    given = fold(turn.previous_reply)
    if not given or not _ORDINAL.search(fold(spell_ordinals(part.text))):
        return None
    if any(len(w) > 3 and not _ORDINAL.fullmatch(w) for w in part.own_words):
        return None  # "et le troisième dialogue ?": another thing, not an item of the list
    lists = [
        unit for unit in index.units
        if not unit.list_item and len(_LIST_JOINS.findall(fold(unit.text))) >= 2 and fold(unit.text) in given
    ]
    # Of two lists just given, the one that ranks its items ("les trois premiers pays ... étaient
    # A, B et C", not "des opérations ... en Afghanistan, en Égypte ...").
    ranked = [unit for unit in lists if "ranking" in unit.features]
    chosen = (ranked or lists)[:1]
    return RankedUnit(chosen[0], GOOD_SENTENCE, 0.0, True, True) if chosen else None


# ", " and " et " between the items of an enumeration.
_LIST_JOINS = re.compile(r",\s|\set\s")


def _points_back(part: Part) -> bool:
    """Whether the question asks what was said or what for (POINTED_BACK_TYPES)."""
    qtype = part.analysis.qtype
    return qtype is not None and qtype.name in POINTED_BACK_TYPES


def _in_reply_just_given(index: SentenceIndex, part: Part, turn: Turn) -> RankedUnit | None:
    """For a question whose subject pronoun ("il", "elle") stands for what was just said, or that
    carries it on ("c'était quand ?"), the page sentence of the previous reply that shows what it
    asks (a number, a date...) and uses one of its own words if it brings any, else None."""
    evidence = part.analysis.evidence
    # "c'est qui qui a annoncé ça ?": who said what was just said, whatever verb the pages use.
    who_said_that = evidence == "agent" and _WHO_SAID_THAT.search(fold(part.text)) is not None
    # "c'était quelle année ?", "devant combien d'États ?": what was just said, continued.
    continues = _CONTINUES_REPLY.search(fold(part.text)) is not None
    if not turn.previous_reply or evidence in ("none", "list"):
        return None
    words = set(folded_words(part.text))
    # "ça sert à quoi au juste ?" after "Pour pouvoir intégrer la migration dans les plans de
    # développement communautaire ..., l'OIM soutient ... profils migratoires locaux": "ça" too.
    pointed = bool(words & DEMONSTRATIVES) and _points_back(part)
    if not (words & SUBJECT_PRONOUNS or who_said_that or continues or pointed):
        return None
    asked = {_prefix(w) for w in part.own_words if len(w) > 3}
    given = fold(turn.previous_reply)
    if not asked and not who_said_that and not (continues and not part.own_words):
        # "il en a dit quoi ?" right after a quote: what the reply led with, when it shows what is
        # asked (what was said, what for); a question of another kind may ask it of the topic instead.
        if not _points_back(part):
            return None
        said = [(at, u) for u in index.units if not u.list_item and (at := _quoted_at(u, given)) >= 0]
        first = min(said, key=lambda pair: pair[0], default=None)
        if first is None or evidence not in first[1].features:
            return None
        return RankedUnit(first[1], GOOD_SENTENCE, 0.0, True, True)
    for unit in index.units:
        if unit.list_item or evidence not in unit.features or not _said_in(unit, given):
            continue
        if who_said_that or (continues and not asked) or asked & {_prefix(w) for w in folded_words(unit.text)}:
            return RankedUnit(unit, GOOD_SENTENCE, 0.0, True, True)
    return None


# Question types a follow-up made of a pronoun and question words asks of the sentence just given
# ("il en a dit quoi ?", "ça sert à quoi ?"): what it said, what for. Not "pourquoi on fait ça ?":
# the topic may give its reason in another sentence ("solidarité").
POINTED_BACK_TYPES = frozenset({"said", "purpose"})
DEMONSTRATIVES = frozenset({"ca", "cela"})
# Words pointing to a thing just named ("ce rapport", "ce truc", "ça").
POINTING_WORDS = DEMONSTRATIVES | {"ce", "cet", "cette", "ces"}
# "qui a dit ça ?", "c'est qui qui a annoncé ça ?": "qui" doing something to "ça", the reply just given.
_WHO_SAID_THAT = re.compile(r"\bqui (?:a|l.a|avait) \w+ (?:ca|cela)\W*$")
# A question carrying on the reply just given: "c'était quelle année ?", "elle date de quand ?" (what was just told),
# "devant combien d'États ?" (a preposition opening a question that completes its sentence); not
# "et avec qui d'autre ?", which asks for something else.
_CONTINUES_REPLY = re.compile(
    r"^(?:et |mais )?(?!.*\bautres?\b)(?:c.?etait\b|(?:il|elle|ca|cela) date\b|(?:devant|pour|par|chez|aupres de|vers|sur) (?:combien|quel|quelle|quels|quelles)\b)"
)


def _asks_something(kb: KnowledgeBase, text: str) -> bool:
    """Whether a clause asks a point of its own: a question word or an aspect ("comment", "quels
    critères"), not a story ("je suis bloqué au Yémen")."""
    analysis = analyse(kb.answering, text)
    return analysis.qtype is not None or analysis.aspect is not None


def _asks_contact_means(kb: KnowledgeBase, text: str) -> bool:
    """Whether the message asks for an e-mail, phone or fax: in its question sentence when that one
    asks a point of its own, a question word or two words of its own ("Il m'a dit au téléphone qu'il
    veut rentrer au Mali. Est-ce que quelqu'un peut l'aider à rentrer ?": the telephone is the
    story's), else anywhere in it ("je voudrais le numéro de l'OIM, vous l'avez ?")."""
    asking = _asking_sentences(text)
    if asking != text and (_asks_something(kb, asking) or len(own_words(kb, analyse(kb.answering, asking))) > 1):
        return kb.answering.asks_contact_means(asking)
    return kb.answering.asks_contact_means(text)


def _asking_sentences(text: str) -> str:
    """The sentences of the text that end with "?" (all of it when none does): the point asked
    about is named there, not in the story before it ("ma diapositive... combien d'États ?")."""
    told = sentences(text)
    asking = [s for s in told if s.endswith("?")]
    if not asking and len(told) > 1 and told[-1][-1:] not in ".!":
        # The first question of two, split off its "?" ("Mon frère ... Ça me met en colère. Comment
        # l'OIM voit les migrants ? Quels mots ... ?"): asked in its last sentence.
        asking = told[-1:]
    # What is said before a colon sets the scene ("Je prépare un exposé sur l'OIM : de quel
    # événement est-elle née ?"): the question is after it.
    asking = [_PREAMBLE.sub("", s) for s in asking]
    return " ".join(asking) if asking else text


# A statement before a colon, the question after it; or who the users are before a comma ("On est
# une petite association au Tchad qui aide les migrants victimes de traite, l'OIM forme ... ?").
_PREAMBLE = re.compile(
    r"^[^?:]{3,120}?\s:\s+(?=[^:]*\?$)"
    r"|^(?:je suis|j.?habite|je vis|je travaille|on est|nous sommes|nous travaillons|on travaille)\b[^?]{3,160}?,\s+(?=[^,?]{8,}\?$)",
    re.IGNORECASE,
)


def _beyond_situation(kb: KnowledgeBase, text: str, groups: list[list[str]]) -> str:
    """What the message says besides the words that told the situation ("en Libye", "rentrer",
    "mon pays"): "peur d'être persécuté" is what the closest sentence must speak of."""
    cues = [fold(word) for group in groups for word in group]
    empty = kb.answering.empty_words | stop_words() | {fold(w) for w in kb.answering.first_person}
    kept = [
        w for w in folded_words(text)
        if len(w) > 2 and w not in empty and not any(w.startswith(c) or c.startswith(w) for c in cues)
    ]  # fmt: skip
    return " ".join(kept)


# A list item of this few words is a name ("Niger", "Organisation mondiale de la Santé"), not a sentence.
NAME_ITEM_WORDS = 4
# How many of the best sentences _add_closest_sentence looks through.
CLOSEST_CANDIDATES = 3


def _add_closest_sentence(
    reply: Reply, kb: KnowledgeBase, index: SentenceIndex, part: Part, entry: Entry, terms: str = ""
) -> None:
    """After the programme's summary, the sentence closest to the situation told (its topic's
    first, any page's if it matches better), when the summary does not already say it (a mayor
    gets the sentence on local authorities, the diaspora the one on the diaspora). Not a list item
    that is only a name ("États participants : Niger" for a migrant stranded in Niger)."""
    # Any page: the topic only ranks first. Among the best few, the first sharing enough words
    # with the case: a sentence that ranks first on meaning alone may share too few.
    # A long story matches any sentence weakly: one of the topic using the pages' own words for the
    # case told (the situation's `terms`: "faire participer leur diaspora") is close enough.
    vouched = {_prefix(w) for w in folded_words(terms) if len(w) > 3 and w not in stop_words()}
    hits = index.rank(part.text, entry, "none", k=CLOSEST_CANDIDATES)
    hit = next((h for h in hits if h.search_score >= ASPECT_ANSWERED), None) or next(
        (h for h in hits if h.in_topic and vouched & _word_keys(h.unit.text)), None
    )
    if hit is None:
        return
    if hit.unit.list_item and len(hit.unit.text.split()) <= NAME_ITEM_WORDS:
        return
    said = fold(" ".join(str(m.get("answer", "")) for m in reply.messages))
    unit = hit.unit
    if fold(unit.text) in said:
        return
    position = next((i for i, m in enumerate(reply.messages) if m.get("response") == "utter_knowledge_answer"), None)
    message = {"response": "utter_focused_answer", "sentence": unit_text(index, unit, False, ()),
               "summary": "", "sources": source_of(kb, unit)}
    reply.messages.insert(len(reply.messages) if position is None else position + 1, message)


def _summary_reply(
    kb: KnowledgeBase, turn: Turn, domain: DomainDict, entry: Entry, why: str, aspect: str = ""
) -> Reply:
    """The curated answer of the entry (bot.answers), as for a question naming the topic; with
    `aspect`, the entry's curated answer on that aspect, as for the intent asking it."""
    intent = turn.intent if why == "intent" else (entry.intents[0] if entry.intents else turn.intent)
    if why == "followup" and turn.country:
        intent = FOLLOW_UP_INTENT
    if aspect:
        intent = next((name for name, asked in ASPECT_INTENTS.items() if asked == aspect), intent)
    focused_turn = Turn(
        intent=intent,
        text=turn.text,
        programme=turn.programme if why != "situation" else entry.programme,
        country=turn.country if why != "situation" else None,
        contact_target=turn.contact_target,
        topic=entry.id,
        programme_slot=entry.programme or turn.programme_slot,
        said=turn.said,
        previous_reply=turn.previous_reply,
    )
    reply = answer_question(kb, focused_turn, domain)
    if why == "situation":
        reply.messages.insert(0, {"response": "utter_situation_intro", "title": entry.title})
    return reply


# Pronouns standing for what the part before named ("... et qui l'a créé ?").
SUBJECT_PRONOUNS = frozenset({"il", "elle", "ils", "elles"})
_OBJECT_PRONOUN = re.compile(r"(?:^|\s)(?:l'|les |la |le )(?:a|ont|avait|avaient)\b")


def respond(kb: KnowledgeBase, turn: Turn, domain: DomainDict, mode: str = "intent") -> Reply:
    """The whole reply to a message: safety first, then one answer per question (two at most)."""
    with one_turn():  # the searches of this reply share spaCy's reading of its words
        return _respond(kb, turn, domain, mode)


def _topic_of_the_story(kb: KnowledgeBase, turn: Turn, asked: str, story: str) -> Entry | None:
    """The topic a question read out of a longer message points to, named in the story around it
    ("..., y a un truc qui s'appelle le dialogue de haut niveau, ... ma question c'est : est-ce que
    ce truc a été établi en 2003 ?"); None when the question names its own or points to nothing.
    Not "ils" or "elle" alone, which may be the OIM itself ("... un discours du directeur ..., bref
    ils ont aidé combien de personnes en 2018 ?"); "ce rapport, il s'appelle comment ?" points."""
    words = tuple(folded_words(asked))
    if story == asked or not analyse(kb.answering, asked).pointer or named_entries(kb, words):
        return None
    if SUBJECT_PRONOUNS & set(words) and not POINTING_WORDS & set(words):
        return None
    return first_named_entry(kb, tuple(folded_words(story)), turn.ranked_intents)


def _respond(kb: KnowledgeBase, turn: Turn, domain: DomainDict, mode: str, safety: bool = True) -> Reply:
    full = clean_user_text(turn.text)
    urgent = urgent_reply(kb, turn, domain, full) if safety else None
    if urgent is not None:
        return urgent
    if kb.answering.says_not_understood(full):
        return _reply_with("utter_clarify")
    if written_in_another_language(kb, full):
        # Spanish or German read as French by the classifier: what the pages say, after saying
        # the assistant speaks French (or only that, when no glossary reads it).
        found = answer_in_another_language(kb, turn, domain)
        return found if found.messages else _reply_with("utter_other_language")
    if mode != "intent" and not has_known_word(kb, full):
        return _reply_with("utter_ask_rephrase")  # "?", an emoji, "asdfghjkl", a phone number: nothing to read
    formal = kb.answering.without_courtesy(full)  # "Madame, Monsieur, ... salutations. Prof. Ndiaye"
    asked = focus(formal)
    # "et l'année d'après ?" after "... en 2018 ?": "et en 2019 ?"
    text = kb.answering.with_year_told(written_out(kb, asked), turn.said[:-1])
    topic = kb.entry(turn.topic) if turn.topic else None
    if topic is None:
        # The message as sent: the NLU may have read only its question (Turn.full_text).
        topic = _topic_of_the_story(kb, turn, asked, clean_user_text(turn.full_text) if turn.full_text else formal)
        turn = replace(turn, topic=topic.id) if topic is not None else turn
    nlu_entry = kb.entry_for_intent(turn.intent) if mode == "intent" else None
    texts = kb.answering.split_questions(text, stop_words()) if text else [text]
    if (
        len(texts) > 1 and text.count("?") < 2 and kb.answering.situation(text, turn.said[:-1][-2:]) is not None
        and not all(_asks_something(kb, t) for t in texts)
    ):
        # One situation told in several clauses: one answer. Not two questions each marked "?"
        # ("Sur quels critères on est examiné pour un retour ? et le transport depuis le Yémen ?")
        # or each asking its own point ("Sur quels critères ..., et comment on transporte ... ?").
        texts = [text]
    more_than_two = len(texts) > MAX_QUESTIONS
    texts = texts[:MAX_QUESTIONS]
    if asked != formal:
        # A long story: the question is read alone, the situation from the story around it (not
        # a mere "D'accord." or "Madame," taken off: the message before is still the one before).
        turn = replace(turn, said=(*turn.said[:-1], full, text))
    parts = []
    for question in texts:
        question, aside = kb.answering.without_set_aside(question)
        if aside:
            # "à part la réinstallation, ...": read as the resettlement, it asks about the rest.
            set_aside = named_entries(kb, tuple(folded_words(aside)))
            if nlu_entry in set_aside:
                nlu_entry = None
            if turn.programme and kb.entry_for_programme(turn.programme) in set_aside:
                turn = replace(turn, programme=None)
        analysis = analyse(kb.answering, question)
        parts.append(Part(question, analysis, own_words(kb, analysis)))
    if len(parts) == 1 and (
        asks_about_contact_just_given(kb, parts[0], turn)
        or asks_whom_to_contact(kb, parts[0], topic or nlu_entry)
        or (
            _asks_contact_means(kb, parts[0].text)
            # "Il y a un e-mail pour poser des questions au DAES ?": the contact it names
            and (_about_something(kb, parts[0], topic or nlu_entry) or turn.contact_target is not None)
        )
    ):
        if topic is None and nlu_entry is not None:
            turn = replace(turn, topic=nlu_entry.id)  # the topic the classifier read, unless the message names one
        elif topic is None and (first := first_named_entry(kb, parts[0].own_words, turn.ranked_intents)) is not None:
            turn = replace(turn, topic=first.id)  # "pour le Dialogue ..., quel département des Nations Unies contacter ?"
        return answer_contact(kb, turn, domain)
    if (
        len(parts) == 1 and _asks_about_nothing(kb, parts[0], turn, topic, nlu_entry)
        # "c'était quel jour ?" after a reply with no topic: that reply's sentence holds the day.
        and _in_reply_just_given(sentence_index(kb), parts[0], turn) is None
    ):
        return _reply_with("utter_clarify")  # "pourquoi ?" as a first message: about what?

    reply = Reply()
    current = topic
    for position, part in enumerate(parts):
        # The intent was read from the whole message: with two questions it fits one of them, so
        # it is the prior only of a question that names no topic of its own ("l'OIM existe depuis
        # quand et elle a combien d'États membres ?": the first part names nothing).
        # A part naming the classifier's topic among others keeps it ("combien d'États participent au
        # Dialogue ... et ... ?": "États" names the member states too).
        # Not when another topic is named by more of its words ("Qui a mis en place le Groupe
        # mondial sur la migration ? Et le FMMD ... ?": read as the Forum mondial, the first part
        # names the Groupe mondial).
        named = named_entries(kb, part.own_words)
        prior = nlu_entry if len(parts) == 1 or not named or nlu_entry in named_most(named, part.own_words) else None
        if position and current is not None and named and current not in named and _stays_on(kb, part, current, named):
            # "Quels sont les trois premiers pays de réinstallation, et l'OIM aide combien d'États
            # par an ?": "États" alone names the member states, but a sentence of the resettlement
            # holds every word of the question ("... l'OIM aide en moyenne plus de 30 États ...").
            prior = current
        if (
            len(parts) > 1 and prior is not None and not named
            and names_the_organisation(kb, part.text, by_name=True)
            and part.analysis.evidence != "none"
            and (prior.kind != ORGANISATION or not text_shows(prior.answer, part.analysis.evidence))
        ):
            # "L'OIM elle fait ça depuis quand, et c'est qui le directeur général qui a parlé au
            # Conseil ?": read as the Council session; the first question names the OIM alone, so it
            # is on the organisation entry telling what it asks (of the organisation's entries, the
            # one the classifier read if its summary tells it).
            prior = _organisation_entry_showing(kb, part, turn) or prior
        if prior is None and len(parts) > 1 and nlu_entry is None and not named:
            # The classifier, unsure of the whole message, ranked one intent per question ("A la
            # base l'OIM a été créée pour faire quoi ? et elle est entrée dans le système de l'ONU
            # en quelle année ?": its history, its UN membership): the one whose topic this part's
            # words speak of.
            prior = _ranked_entry_for(kb, part, turn.ranked_intents)
        part_turn = turn
        if len(parts) > 1:
            # The part before is what a later part follows up on ("... et il a duré combien de jours ?").
            # So is the one a pronoun stands for ("qui dirige l'OIM et elle a été créée quand ?").
            refers_back = (
                # "c 1 sur cb": a figure of the question's cue is no word of its own.
                all(w.isdigit() for w in part.own_words)
                or bool(set(folded_words(part.text)) & SUBJECT_PRONOUNS)
                or bool(_OBJECT_PRONOUN.search(fold(part.text)))
            )
            if position and not named and not refers_back:
                # "Combien d'États participent au Dialogue, et en quelle année s'est tenu le premier ?":
                # naming no topic, it is about the one the part before named, in that part's words.
                part = _with_words_naming(kb, part, parts[position - 1])
                named = named_entries(kb, part.own_words)
            before = (parts[position - 1].text,) if position and refers_back else ()
            part_turn = replace(turn, text=part.text, said=(*turn.said[:-1], *before, part.text))
            if turn.programme and _programme_of_another_part(kb, turn.programme, parts, position):
                # "combien de personnes aidées en 2021, et combien d'États pour la réinstallation ?":
                # the programme the message names is the second question's, not the first's.
                part_turn = replace(part_turn, programme=None)
            if before:
                # What the first answer quoted is not new to the second ("quels pays accueillent
                # des réfugiés réinstallés et combien par an ?": not the three countries again).
                part = replace(part, quoted=fold(" ".join(str(m.get("sentence", "")) for m in reply.messages)))
                if part.analysis.evidence == "date" and text_shows(part.quoted, "date") and _adds_nothing(part):
                    # "le premier dialogue c'était où et quand ?": its date was just given. Not
                    # "le titre du deuxième, et le premier s'est tenu quand ?": another one.
                    continue
                if current is not None and not part.own_words:
                    # Nothing of its own: a follow-up on what the first answer was about, whatever
                    # programme the whole message names.
                    part_turn = replace(part_turn, programme=None)
        if len(parts) > 1 and kb.answering.asks_contact(part.text):
            # "... ? et quel mail pour la stratégie de l'OIM ?": the contacts, for what the part
            # names or else for what the message is about.
            about = current.id if current is not None else turn.topic
            part_reply, entry = answer_contact(kb, replace(part_turn, topic=about), domain), None
        else:
            part_reply, entry = answer_part(kb, part, part_turn, domain, current, prior, mode)
        if not part_reply.messages and len(parts) > 1:
            # Nothing more precise than its topic's own answer, which a message asking only this
            # gets ("combien de personnes l'OIM a aidé à se déplacer en 2021 ?": the movement
            # assistance, "... à plus de 118 000 personnes"): that answer, not silence on it.
            its_topic = prior or next(iter(named_most(named, part.own_words)), None)
            if its_topic is not None:
                part_reply, entry = _summary_reply(kb, part_turn, domain, its_topic, "named"), its_topic
        if not part_reply.messages:
            continue
        reply.messages.extend(_not_said_yet(reply.messages, part_reply.messages))
        if entry is not None:
            current = entry
            reply.slots["topic"] = entry.id
            if entry.programme:
                reply.slots["programme"] = entry.programme
        # What the answer itself decided wins (a refugee redirected to the repatriation).
        reply.slots.update(part_reply.slots)
        redirected = part_reply.slots.get("topic")
        if redirected and kb.entry(redirected) is not None:
            current = kb.entry(redirected)
    if more_than_two and reply.messages:
        reply.say("utter_two_questions_more")
    return reply


def _stays_on(kb: KnowledgeBase, part: Part, current: Entry, named: list[Entry]) -> bool:
    """Whether a later question naming other topics by one word each stays on the topic the
    question before was about: a sentence of that topic holds every word it brings (two at least)."""
    if any(sum(names_entry((w,), e) for w in part.own_words) > 1 for e in named):
        return False
    index = sentence_index(kb)
    topic = index.topic_passages(current)
    meanings = _word_meanings(part.own_words)
    return any(u.passage_id in topic and _holds_every(u, meanings) for u in index.units)


def _ranked_entry_for(kb: KnowledgeBase, part: Part, intents: tuple[str, ...]) -> Entry | None:
    """Among the entries of the classifier's best intents, the one whose title, summary and facts
    share the most of the part's words (ahead of the others); None on a tie or when none shares one."""
    asked = {_prefix(w) for w in part.own_words if len(w) > 3}
    scored: list[tuple[int, Entry]] = []
    for intent in intents:
        entry = kb.entry_for_intent(intent)
        if entry is None:
            continue
        said = _summary_prefixes(entry) | {_prefix(w) for w in folded_words(entry.title)}
        scored.append((len(asked & said), entry))
    scored.sort(key=lambda pair: -pair[0])
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        # No word decides: of a question on the organisation itself ("l'oim existe depuis quand et
        # ... ?": its presence, its history), the one entry whose summary shows what is asked (a
        # founding date).
        evidence = part.analysis.evidence
        if not scored or not set(part.own_words) <= _organisation_words(kb):
            return None
        tied = [entry for count, entry in scored if count == scored[0][0]]
        if evidence == "none":
            # "c'est quoi l'OIM exactement et ça existe depuis quand ?": what the organisation is,
            # which the classifier ranks first, not whichever page sentence says "l'OIM" most.
            return tied[0] if kb.answering.asks_definition(part.analysis.folded) else None
        showing = [entry for entry in tied if text_shows(entry.answer, evidence)]
        return showing[0] if len(showing) == 1 else None
    return scored[0][1]


def _with_words_naming(kb: KnowledgeBase, part: Part, before: Part) -> Part:
    """The part with the words by which the part before named its topics ("... le premier" +
    "Dialogue"), read again; the part as it is when the one before named none."""
    naming = [w for w in before.own_words if named_entries(kb, (w,))]
    if not naming:
        return part
    text = f"{part.text.rstrip(' ?!.')} {' '.join(naming)}"
    analysis = analyse(kb.answering, text)
    return Part(text, analysis, own_words(kb, analysis), part.quoted)


def _programme_of_another_part(kb: KnowledgeBase, programme: str, parts: list[Part], position: int) -> bool:
    """Whether the programme entity is another part's: this part does not name it, and either names
    another topic ("... que la réinstallation ? Donne des exemples de voies légales.") or comes
    before the part naming it (a part after it may well go on about it: "..., et quels pays d'accueil ?")."""
    entry = kb.entry_for_programme(programme)
    own = parts[position].own_words
    if entry is None or names_entry(tuple(folded_words(parts[position].text)), entry):
        return False
    # A later part's words, question words included ("depuis quels pays se fait le retour ... ?":
    # "retour" there is read as a question word of the movement, not a word of its own).
    return bool(named_entries(kb, own)) or any(
        names_entry(tuple(folded_words(p.text)), entry) for p in parts[position + 1 :]
    )


def _adds_nothing(part: Part) -> bool:
    """Whether every word of the part's own was in the answer just given (part.quoted)."""
    quoted = {_prefix(w) for w in folded_words(part.quoted)}
    return all(_prefix(w) in quoted for w in part.own_words if not w.isdigit())


def _not_said_yet(said: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The second answer of a message without what the first already said: a sentence that
    answers both questions ("le premier dialogue c'était où et quand ?") is said once, and so is
    the topic's summary line."""
    sentences_said = {m.get("sentence") for m in said if m.get("sentence")}
    summaries_said = {m.get("summary") for m in said if m.get("summary")}
    kept = []
    for message in new:
        if message in said or (message.get("sentence") and message.get("sentence") in sentences_said):
            continue
        if message.get("summary") and message.get("summary") in summaries_said:
            message = {**message, "summary": ""}
        kept.append(message)
    return kept


def _reply_with(response: str) -> Reply:
    reply = Reply()
    reply.say(response)
    return reply


def _asks_about_nothing(kb: KnowledgeBase, part: Part, turn: Turn, topic: Entry | None, nlu_entry: Entry | None) -> bool:
    """Only question words ("pourquoi ?", "combien ?") with no conversation to refer to; not a
    question on the organisation itself ("Comment l'OIM considère-t-elle les migrants ?"), nor one
    asking what only a handful of sentences show ("c'est quoi le hashtag sur la page ?")."""
    named = turn.programme or turn.country or turn.contact_target
    if topic or nlu_entry or named or part.own_words or part.analysis.aspect or part.analysis.qtype is None:
        return False
    if sentence_index(kb).is_scarce(part.analysis.qtype.evidence):
        return False
    return not names_the_organisation(kb, part.text)


def has_known_word(kb: KnowledgeBase, text: str) -> bool:
    """Whether the message holds a word of the pages, of French (a word vector) or of SMS
    spelling: "asdfghjkl" or a phone number alone holds none."""
    from bot.knowledge.nlp import french

    vocab = french().vocab
    index = sentence_index(kb)
    words = re.findall(r"[^\W\d_]{2,}", text)
    return any(
        index.knows(fold(w)) or vocab.has_vector(w.lower()) or kb.answering.unsms(w) != w for w in words
    )


def asks_about_contact_just_given(kb: KnowledgeBase, part: Part, turn: Turn) -> bool:
    """"il est basé où ?", "son mail ?", "et son numéro ?" right after a contact card: a short
    question naming no topic, about that contact (its card says all the pages give of it)."""
    if contact_just_given(kb, turn) is None or named_entries(kb, part.own_words):
        return False
    if len(part.own_words) > kb.answering.followups.max_own_words:
        return False
    unasked = not turn.contact_slot and not _contact_was_asked(kb, turn) and not kb.answering.asks_contact(part.text)
    if unasked and not _PERSON_POINTER.search(fold(part.text)):
        # The card closed an answer on the topic, unasked ("qui a pris la parole au Conseil ?":
        # the gap, then the press contact): "c'était quel jour ?" is about the Council, not the
        # card; "il est basé où ?", "on le joint comment ?" still point at the person on the card.
        return False
    qtype = part.analysis.qtype
    if unasked and qtype is not None and qtype.name not in kb.answering.followups.unasked_contact_types:
        return False  # "elle a ouvert quel jour ?": "elle" is the session the answer spoke of
    if qtype is not None and qtype.name not in kb.answering.followups.contact_types and not kb.answering.asks_contact(part.text):
        return False  # "et ils y parlent de quoi ?" after the Council's press contact: the Council's themes
    return bool(part.analysis.pointer or kb.answering.asks_contact(part.text) or qtype)


# A person pointed at: "il", "elle", "lui", "son", "sa", "ses", or "le", "la", "l'" before a verb.
_PERSON_POINTER = re.compile(r"\b(?:il|elle|lui|son|sa|ses)\b|(?:^|\s)(?:le |la |l')(?:joindre|joint|contacter|contacte|appeler|appelle|ecrire)\b")


def _contact_was_asked(kb: KnowledgeBase, turn: Turn) -> bool:
    """Whether the message before this one asked for a contact (so the card it got is what a short
    follow-up is about)."""
    before = turn.said[-2] if len(turn.said) >= 2 else ""
    return bool(before) and (kb.answering.asks_contact(before) or kb.answering.asks_whom_to_contact(before))


def _about_something(kb: KnowledgeBase, part: Part, topic: Entry | None) -> bool:
    """Whether the question has a topic to give the contacts of: the conversation's or the
    classifier's, or one it names (a bare "son mail ?" out of the blue has none)."""
    return topic is not None or bool(named_entries(kb, part.own_words))


def asks_whom_to_contact(kb: KnowledgeBase, part: Part, topic: Entry | None) -> bool:
    """"on écrit à qui pour ça ?" during a conversation on a topic, whatever the classifier read:
    a short question asking who to reach, naming no other topic; or, at any length and in any
    conversation, one that says "à qui écrire" and names at most one topic, or `topic` among others
    ("... la stratégie pour le développement durable, elle écrit à qui ?")."""
    if kb.answering.asks_whom_to_contact(part.text):
        named = named_entries(kb, part.own_words)
        return len(named) <= 1 or topic is None or topic in named
    if topic is None or not kb.answering.asks_contact(part.text) or part.analysis.qtype is None:
        return False
    if part.analysis.qtype.evidence != "agent" or len(part.own_words) > kb.answering.followups.max_own_words:
        return False
    return all(entry.id == topic.id for entry in named_entries(kb, part.own_words))


def _questions(kb: KnowledgeBase, text: str) -> list[str]:
    """The questions of a message as respond() reads them (SMS forms written out, split)."""
    return kb.answering.split_questions(kb.answering.unsms(text), stop_words())[:MAX_QUESTIONS]


def written_out(kb: KnowledgeBase, text: str) -> str:
    """The text as the answering reads it: SMS forms written out, typos of page and cue words fixed,
    ordinals spelt out and years in digits as the pages write them ("n°1" -> "premier", "deux
    mille seize" -> "2016")."""
    index = sentence_index(kb)
    numbers = index.with_years_in_full(spell_numbers(kb.answering.unsms(text)))
    return spell_ordinals(index.respell(numbers, spelling_keep(kb), kb.answering.cue_words))


def spelling_keep(kb: KnowledgeBase) -> frozenset[str]:
    """Words respell must leave as typed: the search's French stop words and SMS forms the cues read."""
    return stop_words() | frozenset(kb.answering.sms_words)


def reads_as_french(kb: KnowledgeBase, text: str) -> bool:
    """Whether a message the classifier took for another language is French after all (SMS
    spelling): its French words, SMS forms and words of the pages clearly outnumber English ones."""
    from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH
    from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH

    index = sentence_index(kb)
    sms = frozenset(kb.answering.sms_words)
    words = folded_words(text)
    english = sum(1 for w in words if w in ENGLISH and w not in FRENCH)
    french = sum(1 for w in words if w not in ENGLISH and (w in FRENCH or w in sms or index.knows(w)))
    return french >= 2 and french > 2 * english


def written_in_another_language(kb: KnowledgeBase, text: str) -> bool:
    """Whether a message the classifier read as French is Spanish or German ("¿Cuántas personas
    ayudó la OIM a desplazarse en 2021?"): at least `foreign_min_words` of its words are that
    language's stop words or glossary words (answering.yml) and no French word, and they outnumber
    its French words. Words of three letters or less, SMS forms and the pages' words do not count
    ("e", "ya", "onu")."""
    from bot.knowledge.nlp import french_words

    index = sentence_index(kb)
    sms = frozenset(kb.answering.sms_words)
    words = [w for w in folded_words(text) if len(w) > 3 and w not in sms and not index.knows(w)]
    if not words:
        return False
    stop, lexicon = _stop_words_of("fr"), french_words()
    french = {w for w in words if w in stop or w in lexicon}
    for language, code in (("spanish", "es"), ("german", "de")):
        glossary = kb.answering.foreign_folded.get(language, frozenset())
        own = {w for w in words if w in _stop_words_of(code) or w in glossary}
        foreign = len([w for w in words if w in own and w not in french])
        french_only = len([w for w in words if w in french and w not in own])
        if foreign >= kb.answering.foreign_min_words and foreign > french_only:
            return True
    return False


@lru_cache(maxsize=4)
def _stop_words_of(code: str) -> frozenset[str]:
    """spaCy's stop words of a language, folded (fr, es, de)."""
    import importlib

    stop_words_module = importlib.import_module(f"spacy.lang.{code}.stop_words")
    return frozenset(fold(w) for w in stop_words_module.STOP_WORDS)


# What a reply must hold to be an answer from the pages (not "no information", not "rephrase").
ANSWERS = frozenset({"utter_focused_answer", "utter_knowledge_answer", "utter_contact_card"})
# ...or, for an English question, what the pages do not say on the point asked ("is it free?").
GAP_ANSWERS = frozenset({"utter_gap_point", "utter_gap_point_topic", "utter_contact_gap"})


def answer_in_another_language(kb: KnowledgeBase, turn: Turn, domain: DomainDict) -> Reply:
    """A question in English, Spanish or German on the pages' topics ("when was IOM founded?",
    "¿cuándo fue fundada la OIM?"): what the French pages say, after saying the assistant speaks
    French; nothing when no glossary reads enough words or the pages do not answer (the "please ask
    in French" reply is then said alone)."""
    index = sentence_index(kb)
    french = kb.answering.from_foreign(clean_user_text(turn.text), lambda word: index.knows(fold(word)))
    if french is None:
        return Reply()
    turn = replace(turn, text=french, said=(*turn.said[:-1], french))
    analysis = analyse(kb.answering, french)
    organisation = next((e for e in kb.entries() if e.kind == ORGANISATION and e.intents), None)
    if kb.answering.asks_contact(french):
        found = answer_contact(kb, turn, domain)  # "how can I contact IOM by email?"
    elif organisation is not None and not named_entries(kb, own_words(kb, analysis)) and (
        names_the_organisation(kb, french)
    ):
        # "when was IOM founded?": about the organisation, as its first entry's intent reads it;
        # unless a sentence of any page answers it ("¿Cuántas personas ayudó la OIM a desplazarse
        # en 2021?": the movement assistance's figure, not the organisation's gap).
        # ("what is IOM?" asks what it is: its summary).
        found = Reply() if kb.answering.asks_definition(fold(french)) else respond(kb, turn, domain, "fallback")
        if not any(m.get("response") in ANSWERS for m in found.messages):
            found = respond(kb, replace(turn, intent=organisation.intents[0]), domain, "intent")
    else:
        found = respond(kb, turn, domain, "fallback")
    if not any(m.get("response") in ANSWERS | GAP_ANSWERS for m in found.messages):
        return Reply()
    found.messages.insert(0, {"response": "utter_other_language_answer"})
    return found


def answer_small_talk(kb: KnowledgeBase, turn: Turn, domain: DomainDict) -> Reply:
    """A follow-up question the classifier took for small talk ("où ça ?" read as "oui"): answered
    against the current topic; anything else gets an empty reply (the small-talk text is said)."""
    full = clean_user_text(turn.text)
    urgent = urgent_reply(kb, turn, domain, full)
    if urgent is not None:
        return urgent
    if kb.answering.says_not_understood(full):
        return _reply_with("utter_clarify")
    if kb.answering.situation(full, turn.said[:-1][-2:]) is not None:
        return respond(kb, turn, domain, "small_talk")
    if turn.intent == "other_language":
        # English, Spanish or German on the pages' topics: what they say (French in SMS spelling: the
        # fallback, actions.py).
        return answer_in_another_language(kb, turn, domain)
    read = analyse(kb.answering, written_out(kb, full))  # the message with its SMS forms written out
    if asks_about_the_pages(kb, full, read):
        # "linvasion de liraq loim etai la ? c t kan" read as "are you a bot?": what the pages
        # say of it is the reply; when they say nothing, the small talk is.
        found = respond(kb, turn, domain, "fallback")
        if found.messages and found.messages[0]["response"] not in NOT_AN_ANSWER:
            return found
    topic = kb.entry(turn.topic) if turn.topic else None
    if topic is None:
        return Reply()
    analysis = analyse(kb.answering, full)
    if analysis.aspect is None:
        # "c ki ki paye" asks who pays once its SMS forms are written out; only an aspect read so
        # counts ("t ki ?" is still small talk: "who are you?").
        analysis = read if read.aspect is not None else analysis
    part = Part(full, analysis, own_words(kb, analysis))
    asks = analysis.qtype or analysis.aspect or (analysis.pointer and "?" in full)
    if asks and is_followup(kb, part, turn, topic):
        return respond(kb, turn, domain, "small_talk")
    if turn.intent == "ask_asylum_visa":
        # "et si moi je veux demander l'asile au lieu de rentrer ?" after the voluntary return: the
        # topic's sentence on asylum ("que le migrant souhaite ou non déposer une demande d'asile,
        # l'OIM procède à une première évaluation des risques ..."), then no promise (actions.py).
        return _topic_sentence_on_its_words(kb, part, topic)
    return Reply()


def _topic_sentence_on_its_words(kb: KnowledgeBase, part: Part, topic: Entry) -> Reply:
    """Of the topic's five best sentences, the first holding the message's noun that the fewest
    sentences of the pages use ("asile", not "lieu" that none uses nor the verb "rentrer"), else nothing."""
    index = sentence_index(kb)
    reply = Reply()
    own = set(part.own_words)
    nouns = [_prefix(fold(t.text)) for t in search_docs([part.text])[0] if t.pos_ == "NOUN" and fold(t.text) in own]
    rarest = min((n for n in nouns if index.units_using(n)), key=index.units_using, default=None)
    if rarest is None:
        return reply
    for hit in index.rank(part.text, topic, "none", k=5, within_topic=True):
        if hit.score >= GOOD_SENTENCE and rarest in {_prefix(w) for w in folded_words(hit.unit.text)}:
            say_unit(reply, kb, index, hit, part, topic)
            break
    return reply


# What respond() says when it found nothing to answer with.
NOT_AN_ANSWER = frozenset({"utter_ask_rephrase", "utter_clarify"})
# Words of the pages a question must bring to be one whatever the classifier read ("robot",
# "humain" or "merci" alone are small talk).
PAGE_WORDS_OF_A_QUESTION = 2


def asks_about_the_pages(kb: KnowledgeBase, text: str, analysis: QuestionAnalysis) -> bool:
    """A question ("?" or a question type) bringing words of the pages of its own; `analysis` is
    the text's, SMS forms written out."""
    if analysis.qtype is None and "?" not in text:
        return False
    index = sentence_index(kb)
    organisation = _organisation_words(kb)
    # A figure the pages give, in digits or in words, counts ("c vré ke 1 personne sur 7 c un
    # migrant ??": "7", the pages' "sept", and "migrant"); figures are read in the whole message,
    # a question type's cue may hold them ("1 ... sur 7").
    written = number_words()
    figures = frozenset(written.values())
    known = {w for w in own_words(kb, analysis) if len(w) > 3 and index.knows(w) and w not in organisation}
    for word in re.findall(r"\w+", analysis.folded):
        if (word.isdigit() and (word in figures or index.knows(word))) or (word in written and index.knows(word)):
            known.add(written.get(word, word))
    return len(known) >= PAGE_WORDS_OF_A_QUESTION


def page_question_read_as_handoff(kb: KnowledgeBase, text: str) -> bool:
    """"est-ce vrai qu'une personne sur sept est un migrant ?" read as asking for a person: a
    question on the pages that asks for nobody."""
    text = clean_user_text(text)
    return not kb.answering.asks_for_a_person(text) and is_page_question(kb, text)


def is_page_question(kb: KnowledgeBase, text: str) -> bool:
    """Whether the message asks something of the pages, in its own words ("je pars travailler à
    Amman, je compte pas vraiment comme migrante non ?" read as "non")."""
    text = clean_user_text(text)
    return asks_about_the_pages(kb, text, analyse(kb.answering, written_out(kb, text)))


def urgent_reply(kb: KnowledgeBase, turn: Turn, domain: DomainDict, text: str) -> Reply | None:
    """The reply to a message telling of danger (data/knowledge/safety.yml), else None; also one
    the classifier reads as a call for help that holds a word of harm (safety.yml harm_words)."""
    match = kb.safety.match(text) or kb.safety.harm_read_as_call_for_help(text, (turn.intent, *turn.ranked_intents))
    return safety_and_situation(kb, turn, domain, match.category) if match is not None else None


def _answer_beside_danger(kb: KnowledgeBase, turn: Turn, domain: DomainDict, text: str) -> Reply:
    """After the help, the answer to a question on the pages the message also asks ("mon petit frère
    est parti seul, j'ai peur ... Le directeur de l'OIM a parlé de cas très graves, il parlait de
    quels cas ?"): what the pages say, when they answer it (no gap, no contact card: the help and a
    person come first)."""
    asked = question_beside_danger(kb, text)
    if asked is None:
        return Reply()
    # The classifier's best knowledge intent, if any, is the question's prior (the message's own
    # intent is the danger's).
    intent = next((i for i in (turn.intent, *turn.ranked_intents) if kb.entry_for_intent(i) is not None), None)
    question = replace(turn, text=asked, said=(*turn.said[:-1], asked), intent=intent or turn.intent)
    found = _respond(kb, question, domain, "intent" if intent else "fallback", safety=False)
    if not any(m.get("response") in BESIDE_DANGER for m in found.messages):
        return Reply()
    found.messages = [m for m in found.messages if m.get("response") in BESIDE_DANGER or m.get("response") == "utter_situation_intro"]
    return found


def question_beside_danger(kb: KnowledgeBase, text: str) -> str | None:
    """The question on the pages a message telling of danger asks as well, if any: its sentences
    ending with "?", or the clause after the story told in the same sentence ("ma sœur a été vendue
    par un réseau, l'oim fait quoi contre la traite ... ?": the story's words are no point the
    pages miss)."""
    asked = _asking_sentences(text)
    if "?" not in asked:
        return None
    clause = asked.rsplit(",", 1)[-1].strip()
    if clause != asked and _asks_the_organisation(kb, clause):
        return clause
    if asks_about_the_pages(kb, asked, analyse(kb.answering, written_out(kb, asked))):
        return asked
    # "Je lis que le directeur de l'OIM a parlé des mineurs non accompagnés au Conseil. Qu'est-ce
    # qu'il a dit sur ... ?": "il" stands for what the sentence just before names.
    told = sentences(text)
    first = next((i for i, s in enumerate(told) if s.endswith("?")), 0)
    if first and _stands_for_something(asked):
        both = f"{told[first - 1]} {asked}"
        if asks_about_the_pages(kb, both, analyse(kb.answering, written_out(kb, both))):
            return both
    return None


def _asks_the_organisation(kb: KnowledgeBase, clause: str) -> bool:
    """A question on the pages, or on what the OIM does ("l oim aide les famille a se retrouvé ou pa ?")."""
    read = analyse(kb.answering, written_out(kb, clause))
    if asks_about_the_pages(kb, clause, read):
        return True
    index = sentence_index(kb)
    return names_the_organisation(kb, read.folded) and any(len(w) > 3 and index.knows(w) for w in own_words(kb, read))


# What the answer to a question asked beside a danger told may be: the pages' sentences or summary.
BESIDE_DANGER = frozenset({"utter_focused_answer", "utter_knowledge_answer"})


# Safety categories whose reply stays alone: thoughts of suicide get help, not a programme.
SAFETY_ALONE = frozenset({"suicide"})


def safety_and_situation(kb: KnowledgeBase, turn: Turn, domain: DomainDict, category: str) -> Reply:
    """Help first; then, when the message also tells a situation a programme is for ("on m'a pris
    mes papiers, je suis coincé" -> the aid to stranded migrants), that programme; then the answer
    to a question on the pages the message asks as well."""
    reply = safety_reply(category)
    text = clean_user_text(turn.text)
    if category not in SAFETY_ALONE:
        situation = kb.answering.situation(text, turn.said[:-1][-2:])
        entry = kb.entry(situation.entry) if situation is not None else None
        if entry is not None:
            reply.messages.extend(_summary_reply(kb, turn, domain, entry, "situation").messages)
            reply.slots["topic"] = entry.id
    reply.messages.extend(_not_said_yet(reply.messages, _answer_beside_danger(kb, turn, domain, text).messages))
    return reply


def safety_reply(category: str) -> Reply:
    """Help first: the category's words, emergency services, a person; flagged urgent for staff."""
    reply = Reply()
    reply.say(f"utter_safety_{category}")
    reply.say("utter_safety_person")
    reply.slots["urgent"] = True
    reply.slots["handoff_requested"] = True
    return reply


def answer_contact_request(kb: KnowledgeBase, turn: Turn, domain: DomainDict) -> Reply:
    """The reply to a message the classifier read as a contact request: the contacts, unless no
    word of it asks for one and it asks something else ("quel ordre de grandeur l'OIM donne pour la
    part des migrants ?"), then answered as any question, with no intent trusted."""
    text = clean_user_text(turn.text)
    if (
        not kb.answering.asks_contact(text) and not kb.answering.asks_whom_to_contact(text)
        and not turn.contact_target and _asks_something(kb, text)
    ):
        return respond(kb, turn, domain, "fallback")
    return answer_contact(kb, turn, domain)


def answer_contact(kb: KnowledgeBase, turn: Turn, domain: DomainDict) -> Reply:
    """The contacts (bot.answers), after saying what the pages do not give about them
    ("à quelles heures ?", "l'adresse à Tripoli ?")."""
    reply = Reply()
    text = clean_user_text(turn.text)
    others = [q for q in _questions(kb, text) if not kb.answering.asks_contact(q)]
    if others and len(others) < len(_questions(kb, text)):
        # "c'est quoi l'approche pangouvernementale, et c'est quoi le mail de l'unité ?": the
        # question that is not about a contact is answered first, as any question.
        for question in others:
            part_reply = respond(kb, replace(turn, text=question), domain, "intent")
            reply.messages.extend(part_reply.messages)
            reply.slots.update(part_reply.slots)
    analysis = analyse(kb.answering, text)
    if analysis.aspect is not None and analysis.aspect.name in CONTACT_ASPECTS:
        reply.say("utter_contact_gap", missing=analysis.aspect.missing)
    if not turn.contact_target and not turn.country:
        # "qui contacter pour le dialogue de haut niveau ?": the topic the message names (its
        # words or the programme entity) chooses the contacts, before the conversation's topic.
        named = named_entries(kb, own_words(kb, analysis))
        programme = kb.entry_for_programme(turn.programme) if turn.programme else None
        entry = programme or (named[0] if len(named) == 1 else None)
        if entry is not None:
            turn = replace(turn, topic=entry.id)
    contacts = answer_contact_cards(kb, turn, domain)
    reply.messages.extend(contacts.messages)
    reply.slots.update(contacts.slots)
    return reply
