"""Rank the sentences of the pages against a question, the topic's own sentences first.

Why: a question inside a topic ("combien de tables rondes au premier dialogue ?") is answered by
one sentence of the pages, not by the topic's summary. Every sentence, list item and curated fact
quote is a unit with what it can answer (a number, a date, a place, a person or organisation, a
list, a reason); a unit scores by BM25 on lemmas (bot.knowledge.search), plus a bonus when it belongs to the
topic the conversation is about and when it shows what the question type asks for. The reply then
quotes the unit verbatim, so its provenance is the passage it comes from.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.knowledge.knowledge_base import Entry, KnowledgeBase, Passage
from bot.knowledge.nlp import french_words
from bot.knowledge.search import (
    PassageIndex,
    Token,
    counted_alike,
    demonym_endings,
    edit_distance,
    same_meaning,
    spacy_terms,
    stop_words,
)
from bot.knowledge.textnorm import YEAR, fold, fold_apostrophes, folded_words

if TYPE_CHECKING:
    from spacy.tokens import Doc

# A unit of the topic the conversation is about gets this much more (scores are 0..1).
TOPIC_BONUS = 0.12
# Meaning counts this much: the cosine similarity of mean word vectors, above a baseline that
# unrelated French sentences reach anyway.
SEMANTIC_WEIGHT = 0.3
SEMANTIC_BASELINE = 0.5
# A word of the question this close in meaning (cosine of word vectors) to a word of the pages
# counts as something the pages talk about.
CLOSE_WORD = 0.7
# A word of the question this long that begins a page word is that word cut short ("develop").
CLIPPED_MIN_LETTERS = 6
# Endings of gender and number: a question word is a page word without one ("pilote" / "pilotee"),
# not merely a word starting alike ("employe" / "employeur").
INFLECTIONS = ("e", "s", "es", "ee", "ees", "x")
# A word ending in "e" may be a form of a verb of the first group the pages use ("veille": "veiller").
VERB_ENDINGS = ("r", "nt")
# A noun's adjective the pages use instead ("région": "autorités locales et régionales").
ADJECTIVE_ENDINGS = ("al", "ale", "ales", "aux")
# Of a sentence ending the passage before, this many first words (its subject) are searched with
# a sentence starting with a pronoun.
CARRIED_SUBJECT_WORDS = 7
# BM25 length normalisation for sentences (bot.knowledge.search uses 0.75 for passages).
LENGTH_NORMALISATION = 0.4
# A unit of another section of a page the topic cites gets this much more.
PAGE_BONUS = 0.06
# A unit whose section title holds a word of the question ("observateurs") gets this much more,
# unless the word is in more than this share of all units ("aide", "migration": says no topic).
SECTION_BONUS = 0.08
# A unit using a word of the question that at most this many units of the pages use gets this much.
RARE_SHARED_UNITS = 1
RARE_SHARED_BONUS = 0.05
SECTION_WORD_MAX_SHARE = 0.06
# A unit showing what the question type asks for (a number for "combien"...) gets this more...
TYPE_BONUS = 0.10
# A unit naming several places answers "où ?" a little better than one naming one.
PLACES_BONUS = 0.03
# ...or this much when at most RARE_TYPE_SHARE of all units show that kind (a proportion, an outcome).
RARE_TYPE_BONUS = 0.2
RARE_TYPE_SHARE = 0.02
# A kind of evidence at most this many units show makes each of them a candidate for its questions.
SCARCE_EVIDENCE_UNITS = 3
# ...and one that does not show it keeps this share of its score.
TYPE_MISMATCH_FACTOR = 0.55
# "combien d'États participent ?" and a list headed "États participants (195 États)": the heading
# gives the figure of the very thing counted (only a heading gets this much: "118 000 personnes" in a
# sentence does not answer "combien de personnes l'OIM emploie ?").
COUNTED_HEADING_BONUS = 0.35
# A sentence putting a figure right before the thing counted ("s'est adressé aux 173 Etats membres"
# for "devant combien d'États membres ... ?") gets a little more: the other words decide still.
COUNTED_TEXT_BONUS = 0.08
_COUNTED = re.compile(r"\b(?:combien|nombre) (?:de |d')(?:[a-z]+ ){0,1}?([a-z]{4,})")
# ...or this share when the question asks for a list and the unit joins two things with "et".
JOINED_LIST_FACTOR = 0.8
# Two things joined: "et" (or "ainsi que") before an article, not before a verb ("et sont affectés").
_JOINED = re.compile(r"\b(?:et|ainsi que) (?:des|de|du|d'|d’|les|la|le|l'|l’|aux|au|à)(?:\s|(?<=['’]))")
# A proportion the unit gives about something else than the question's words (none of them within
# this many words of its figure) does not answer "quelle proportion ... ?".
FIGURE_WINDOW_WORDS = 4
# A misspelt word is read as the page word at least this close (difflib ratio: "presant"/"present"
# 0.86, "evacuassion"/"evacuation" 0.82, "mali"/"mal" is never tried: "mali" has a word vector).
RESPELL_CUTOFF = 0.8
# A noun of the question one letter away from a page word of this length is read as its typo
# ("forom" / "forum"), not as a point the pages miss.
TYPO_MIN_LETTERS = 5
# A correctly typed French word is read as a page word only if both start with these many letters.
FAMILY_PREFIX = 4
_TYPED_WORD = re.compile(r"[^\W\d_]+")
# First and second person possessives: "mon fils est malade" tells of the user's own life
# ("son budget" may well be the OIM's: asked about).
_POSSESSIVES = frozenset({"mon", "ma", "mes", "ton", "ta", "tes", "notre", "nos", "votre", "vos"})
# Letters French elides before a vowel ("l'ONU", "d'asile", "j'ai"): SMS spelling drops the apostrophe.
_ELIDED = frozenset("cldjmnst")
# How SMS spelling writes French sounds (sounds_like): "nouvo" is "nouveau", "travay" "travail",
# "presant" "present", "asi" "asie", "arriv" "arrive".
_SOUND_SPELLINGS = (
    ("y", "i"), ("eau", "o"), ("au", "o"), ("qu", "k"), ("ph", "f"), ("aill", "ai"), ("ail", "ai"), ("ai", "e"), ("ei", "e")
)
_HARD_C = re.compile(r"c(?=[aou])")
_DOUBLE = re.compile(r"(\w)\1")
_SILENT_ENDING = re.compile(r"(?:ent|es|ts|s|t|x|e|d)$")
_SILENT_LETTER = re.compile(r"(?:es|ts|s|t|x|e|d)$")  # "present" is not a verb: its "ent" is heard
# A typed word of fewer letters is too short to be told from another by its sound.
SOUND_MIN_LETTERS = 3

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9])")
# "M. Vitorino", "Tel. +41", "Rm. DC2": a full stop after these is not the end of a sentence.
_NOT_AN_END = re.compile(r"\b(?:M|Mme|Dr|Tel|Tél|Rm|St|No|n°|etc)\.$")
_MONTHS = re.compile(
    r"\b(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)\b"
)
# "le lancement, mercredi, de la publication phare": a day is a date too ("quel jour ?").
_WEEKDAYS = re.compile(r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b")
_DIGITS = re.compile(r"\d")
# A name given between French quotes: « Faire des migrations un atout ».
_TITLE = re.compile(r"«[^»]{3,}»")
# Someone's words reported: "« ... », a déclaré le DG", "a-t-il souligné", "a-t-il fait observer".
_QUOTE = re.compile(
    r"\ba.t.(?:il|elle) (?:declare|souligne|fait observer|ajoute|dit|affirme|indique|rappele|explique)\b"
    r"|\ba (?:declare|souligne|affirme|ajoute|rappele)\b"
    r"|\bcomme (?:le|l.|la) (?:souligne|rappelle|indique|dit|affirme)\b"  # "Comme le souligne le Pacte mondial, « ... »"
)
# What someone or something is held to be: "les migrants sont des acteurs de la résilience",
# "Les migrants doivent être perçus comme des « partenaires ... »".
_SEEN_AS = re.compile(
    r"\b(?:sont|soient|seront|etre|est|soit) (?:(?:percue?s?|vue?s?|considere(?:e|s|es)?) comme )?des\b"
    r"|\b(?:percue?s?|vue?s?|considere(?:e|s|es)?) comme des\b"
    r"|\ben tant que\b"  # "les moyens d'agir en tant que « premiers intervenants »"
)
# What something led to: "a abouti à la création du FMMD", "a débouché sur un programme".
_OUTCOME = re.compile(
    r"\b(?:a|ont|avait|avaient) (?:abouti|debouche|conduit|mene|donne lieu|permis de creer|recense|adopte)\b"
    r"|\b(?:aboutissant|debouchant) (?:a|sur)\b"
)
# When something began, with its year: "depuis 1951", "créé en 2006", "en 2006, ... a établi"
# ("il y a 65 ans" says it only to whoever knows when the page was written).
_FOUNDING = re.compile(
    r"\b(?:depuis (?:1[89]|20)\d\d|(?:creee?s?|fondee?s?|etablie?s?|nee?s?|instituee?s?) (?:en|le|des) \d)"
    r"|\b(?:en|des) (?:1[89]|20)\d\d\b[^.]{0,80}\b(?:a|ont) (?:cree|etabli|fonde|institue)\b"
)
# A room or office code ("Rm. DC2-1950"): its digits are no year.
_ROOM_CODE = re.compile(r"\b[a-z]+\d+-\d+\b")
# "Programme 2030", "à l'horizon 2030", "2030 AGENDA": the name of a plan, not a date.
# A year naming a plan or a period ("Programme 2030", "l'après-2015"), not when something happened.
_NAMED_YEAR = re.compile(r"\b(?:programme|horizon|agenda)\s+20\d\d\b|\b20\d\d\s+agenda\b|\b(?:apres|post)[- ]20\d\d\b")
# "14-15 septembre", "3-4 octobre", "20 et 23 novembre": days of a date, not quantities.
_DAY_MONTH = re.compile(
    r"\b\d{1,2}(?:\s*(?:-|et)\s*\d{1,2})?\s+(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|"
    r"septembre|octobre|novembre|decembre)\b"
)
# Phone and fax numbers, and resolution symbols ("A/RES/58/208"), are not quantities.
_PHONE = re.compile(r"\+?\s?\d[\d .-]{6,}\d|\b[a-z]/res/[\d/]+")
# A sentence starting with one of these needs the sentence before it to be understood.
_PRONOUN_START = re.compile(r"^(?:il|elle|ils|elles|ce|cette|cela|ces|ceux|celui|celle)\b", re.IGNORECASE)
# "cette occasion", "ce jour-là": a sentence whose time is told by the sentence before it.
_TIME_BEFORE = re.compile(r"\b(?:cette|cet|ce) (?:occasion|annee|moment|jour|date|evenement|periode|epoque)\b")
# Question types a whole list (all its items as one unit) can answer.
WHOLE_LIST_EVIDENCE = frozenset({"list", "places", "agent", "number"})
# Question types a list item answers by being part of a list.
LIST_EVIDENCE = frozenset({"list", "places", "agent"})
_NUMBER_WORDS = re.compile(
    r"\b(?:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|cent|cents|"
    r"mille|millions?|milliards?|centaines|dizaines|milliers|premiere?|deuxieme|moitie)\b"
)
_REASON = re.compile(
    # a sentence opening on its purpose ("Pour pouvoir intégrer la migration dans les plans ..., l'OIM
    # soutient ..."), not on its means ("Pour ce faire, ...")
    r"^pour (?!ce\b)[a-z]+(?:er|ir|re)\b|"
    r"\b(?:car|parce|afin|en raison|du fait que|puisque|etant donne|grace a|c.est pourquoi|pour (?:permettre|trouver|renforcer|garantir|faire|accroitre|"
    r"promouvoir|examiner)|objectif|vise|permet|permettant|but|(?:est|sont) une expression de"
    r"|(?:cree|creee|crees|creees|fonde|fondee|etabli|etablie|mis en place|mise en place) pour)\b"
)
# A hashtag ("#formigration"), not a number sign ("n° 1", "#1").
_HASHTAG = re.compile(r"(?<![\w#])#[^\W\d_]\w+")
# "une personne sur sept", "plus de 90 %", "la moitié": a share of a whole.
_PROPORTION = re.compile(
    r"\b(?:un|une|\d+) (?:\w+ )?sur (?:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|\d+)\b"
    r"|\d ?%|\bpour ?cent\b|\bpourcentage\b|\b(?:la )?moitie\b|\bun (?:tiers|quart)\b"
)
# What something depends on: "est directement liée à leur capacité", "dépend de", "en fonction de".
_DEPENDENCY = re.compile(r"\b(?:depend\w*|liee?s? (?:a|aux)|en fonction (?:de|du|des)|conditionne\w*)\b")
# What the organisation does: "l'OIM soutient l'établissement de profils migratoires locaux".
_ACTIVITY = re.compile(
    r"\b(?:l.?oim|elle|l.?organisation)\s+(?:\w+\s+)?(?:soutient|aide|fournit|travaille|appuie|propose|organise|"
    r"facilite|mene|favorise|contribue|promeut|encourage|assiste|offre|gere|procede|intervient|apporte|"
    r"accompagne|renforce|collabore|veille|cherche|s.?efforce)\b"
)
# "les trois premiers pays", "la principale organisation", "les plus touchés": a ranking, what
# "quels pays accueillent le plus de réfugiés ?" asks for.
_SUPERLATIVE = re.compile(
    r"\b(?:premiers|premieres|principa(?:l|le|ux|les)|(?:le|la|les) (?:plus|\+|moins) (?!de\b)\w+)\b"
)
_ASKS_SUPERLATIVE = re.compile(r"(?:\ble|\bla|\bles) (?:(?:plus|moins)\b|\+)|\b(?:premiers?|principa\w+|plus gros|plus grands?|surtout)\b")
# A unit showing a ranking gets this much more when the question asks for one...
SUPERLATIVE_BONUS = 0.08
# ...this much when the ranking is of a thing the question names ("les trois premiers pays" for
# "quels pays ... le plus ?"), and none when it ranks something else ("ses activités les plus anciennes").
SUPERLATIVE_NAMED_BONUS = 0.2
# Words either side of a ranking word that say what is ranked.
SUPERLATIVE_WINDOW_WORDS = 2
_RANK_COUNT = re.compile(r"\b(?:deux|trois|quatre|cinq|dix) (?:premiers|premieres|principaux|principales|derniers|dernieres)\b")
_RANKING_WORD = re.compile(r"^(?:premiers|premieres|plus|moins|principa\w*)$")
_AGENT_WORDS = re.compile(
    r"\b(?:oim|hcr|nations unies|onu|etats?|gouvernements?|organisations?|secretaire general|"
    r"directeur|directrice|conseil|assemblee generale|partenaires|compagnies|societe civile|"
    r"secteur prive|division|unite|bureau|forum|groupe)\b"
)


@dataclass(frozen=True)
class Unit:
    """A sentence, list item or fact quote of the pages, with what it can answer."""

    id: str
    passage_id: str
    section: str
    text: str
    list_item: bool = False
    features: frozenset[str] = field(default_factory=frozenset)
    context: str = ""  # the sentence before, when this one starts with "Il", "Cette"... (searched too)
    # What of the context is searched when it ends another passage: its subject only
    # ("Le premier Dialogue de haut niveau"), not its own words (or "" for all of the context).
    searched_context: str = ""


@dataclass(frozen=True)
class RankedUnit:
    unit: Unit
    score: float  # combined score (search + bonuses), may exceed 1
    search_score: float  # BM25 normalised 0..1 (bot.knowledge.search)
    in_topic: bool
    shows_type: bool
    on_topic_page: bool = False


def split_sentences(text: str) -> list[str]:
    """Sentences of a prose line, not cut after "M." or "Tel."."""
    pieces = _SENTENCE_END.split(text.strip())
    merged: list[str] = []
    for piece in pieces:
        if merged and _NOT_AN_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return [p for p in merged if p.strip()]


def passage_units(passage: Passage) -> list[tuple[str, bool]]:
    """(text, is a list item) for each sentence and list item of a passage."""
    units: list[tuple[str, bool]] = []
    for line in passage.text.splitlines():
        line = line.strip()
        if not line or line == "-":
            continue
        if line.startswith("- "):
            units.append((line[2:].strip(), True))
        else:
            units.extend((sentence, False) for sentence in split_sentences(line))
    return units


def _features(text: str, entity_labels: Iterable[str], list_item: bool) -> frozenset[str]:
    folded = fold(text)
    labels = list(entity_labels)
    found: set[str] = set()
    without_dates = _DAY_MONTH.sub(" ", YEAR.sub(" ", _PHONE.sub(" ", folded)))
    # "les trois premiers pays de réinstallation": a rank, no count of anything asked.
    without_dates = _RANK_COUNT.sub(" ", without_dates)
    if _DIGITS.search(without_dates) or _NUMBER_WORDS.search(without_dates):
        found.add("number")
    if YEAR.search(_NAMED_YEAR.sub(" ", _ROOM_CODE.sub(" ", folded))) or _MONTHS.search(folded) or _WEEKDAYS.search(folded):
        found.add("date")
    if _PROPORTION.search(folded):
        found.add("proportion")
    if _HASHTAG.search(folded):
        found.add("hashtag")
    if _FOUNDING.search(folded):
        found.add("founding")
    if _OUTCOME.search(folded):
        found.add("outcome")
    if _SEEN_AS.search(folded):
        found.add("seen_as")
    if _ACTIVITY.search(folded):
        found.add("activity")
    if _DEPENDENCY.search(folded):
        found.add("dependency")
    if _SUPERLATIVE.search(folded):
        found.add("ranking")
    places = labels.count("LOC")
    if places:
        found.add("place")
    if places >= 2 or (list_item and places):
        found.add("places")
    if "PER" in labels or "ORG" in labels or _AGENT_WORDS.search(folded):
        found.add("agent")
    if _REASON.search(folded):
        found.add("reason")
    if list_item or text.count(",") >= 2:
        found.add("list")
    if _TITLE.search(text):
        found.add("title")
    if _QUOTE.search(folded):
        found.add("quote")
    return frozenset(found)


_WORD_OR_FIGURE = re.compile(r"[^\W_]+")


def _stands_by(text: str, is_anchor: Callable[[str], bool], is_asked: Callable[[str], bool], window: int) -> bool:
    """Whether a word of the text that is_anchor accepts (a figure, a ranking word) has within
    `window` words of it one that is_asked accepts (a word of the question). Figures are words
    here: "à plus de 90 % sur le terrain" has its figure by "terrain"."""
    words = _WORD_OR_FIGURE.findall(fold(text))
    return any(
        is_anchor(word) and any(is_asked(w) for w in words[max(0, i - window) : i + window + 1])
        for i, word in enumerate(words)
    )


def _figure_near(text: str, asked: set[str]) -> bool:
    """Whether a figure of the text stands within FIGURE_WINDOW_WORDS of a word of the question
    (`asked`: folded, each _bare): the figure is about what was asked. Whole words, not prefixes:
    "personnel" is not "personne"; but "migrante" is "migrant"."""

    def is_figure(word: str) -> bool:
        return word.isdigit() or bool(_NUMBER_WORDS.fullmatch(word))

    return _stands_by(text, is_figure, lambda w: _bare(w) in asked, FIGURE_WINDOW_WORDS)


def _bare(word: str) -> str:
    """A folded word without a plural "s" or "x" nor a feminine "e" ("migrantes" -> "migrant")."""
    word = word.rstrip("sx")
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def _stem(word: str) -> str:
    """A folded word's first six letters without a plural ("États", "etat" -> "etat")."""
    return word.rstrip("sx")[:6]


def _stems(text: str) -> set[str]:
    """The stems of the text's words of four letters or more (figures are not words here)."""
    return {_stem(w) for w in folded_words(text) if len(w) > 3 and not w.isdigit()}


def _counted_noun(question: str) -> frozenset[str]:
    """The stems (_stem) of what "combien de ..." counts and of the words counted alike
    ("combien de pays" -> "pays", "etat", "nation"); empty when nothing is counted."""
    return _counted(question)[0]


def _counted(question: str) -> tuple[frozenset[str], bool]:
    """What "combien de ..." counts (_counted_noun) and whether it comes with no word of its own
    right after it ("combien d'États dans le Dialogue ?", not "combien d'États membres ?"): then
    any count of that thing on the topic's page answers, whatever its heading adds ("États
    participants (195 États)")."""
    folded = fold(fold_apostrophes(question))
    match = _COUNTED.search(folded)
    if match is None:
        return frozenset(), False
    following = folded[match.end() :].split()[:1]
    # A verb after it qualifies nothing ("combien d'États prennent part au Dialogue ?").
    unqualified = not following or following[0] in stop_words() or _PLURAL_VERB.fullmatch(following[0]) is not None
    return _counted_stems(match.group(1)), unqualified


def _counted_stems(word: str) -> frozenset[str]:
    """The (folded) word's stem and those of the words counted alike (search_words.yml)."""
    return frozenset({_stem(word)} | {_stem(other) for other in counted_alike().get(word, ())})


_PLURAL_VERB = re.compile(r"[a-z]{2,}ent")


def _asked_stems(question: str) -> set[str]:
    """The question's stems (_stems) and those of the words counted alike (search_words.yml)."""
    words = [w for w in folded_words(question) if len(w) > 3 and not w.isdigit()]
    return set().union(*map(_counted_stems, words))


@lru_cache(maxsize=4096)
def _counts(text: str, counted: frozenset[str]) -> bool:
    """Whether the text puts a figure right before the counted thing ("(195 États)")."""
    return any(_stem(word) in counted for word in re.findall(r"\d[\d\s.,]*\s+(?:de |d')?([a-z]{4,})", fold(fold_apostrophes(text))))


def gives_count_asked(question: str, text: str) -> bool:
    """Whether the text puts a figure right before what "combien de ..." counts ("dans combien de
    pays ?": "... dans 125 pays")."""
    counted = _counted_noun(question)
    return bool(counted) and _counts(text, counted)


def _heading_asked(heading: str, asked_stems: set[str]) -> bool:
    """Whether every word of a heading is in the question ("États participants": "combien d'États
    participent ?", not "combien d'États membres ?")."""
    return _stems(heading) <= asked_stems


def _ranking_bonus(text: str, asked: set[str]) -> float:
    """SUPERLATIVE_BONUS for a unit ranking things; more when a word of the question stands by the
    ranking word ("premiers pays"), none when the ranked thing is another ("activités les plus anciennes")."""
    stops = stop_words()

    def is_ranking(word: str) -> bool:
        return bool(_RANKING_WORD.match(word))

    def names_asked(word: str) -> bool:
        return len(word) > 3 and word[:6] in asked and word not in stops and not is_ranking(word)

    if _stands_by(text, is_ranking, names_asked, SUPERLATIVE_WINDOW_WORDS):
        return SUPERLATIVE_NAMED_BONUS
    return 0.0 if asked else SUPERLATIVE_BONUS


def asks_ranking(question: str) -> bool:
    """Whether a question asks for the first, the main or the most ("quels pays surtout ?")."""
    return bool(_ASKS_SUPERLATIVE.search(fold(question)))


def sounds_like(folded: str) -> frozenset[str]:
    """Keys that two spellings of one French sound share (accents already folded): the sound
    spellings above, double letters as one, a silent ending dropped (a verb's "ent" or not),
    "en" as "an"."""
    key = folded
    for written, sound in _SOUND_SPELLINGS:
        key = key.replace(written, sound)
    key = _DOUBLE.sub(r"\1", _HARD_C.sub("k", key))
    if len(key) <= SOUND_MIN_LETTERS:
        return frozenset({key.replace("en", "an")})
    return frozenset(ending.sub("", key).replace("en", "an") for ending in (_SILENT_ENDING, _SILENT_LETTER))


_DEMONSTRATIVE_SUBJECT = re.compile(r"^(?:ce|cet|cette|ces)\s+([a-z]{4,})\b")
# The sentence naming what a demonstrative subject stands for is at most this many sentences back.
ANTECEDENT_SENTENCES = 6


def _dates_in(sentence: str) -> list[str]:
    """The years and days of a sentence, as written ("2016", "19 septembre")."""
    folded = fold(sentence)
    return [m.group(0) for pattern in (YEAR, _DAY_MONTH) for m in pattern.finditer(folded)]


def _subject(sentence: str) -> str:
    """The first words of a sentence (its subject), searched with a sentence that stands for it."""
    return " ".join(sentence.split()[:CARRIED_SUBJECT_WORDS])


def _antecedent(text: str, before: Sequence[str]) -> str | None:
    """For a sentence opening with a demonstrative and a noun ("Ce Dialogue a recensé ..."), the
    latest of the sentences before (of its page section) that names that noun and does not open
    with a pronoun or a demonstrative itself."""
    match = _DEMONSTRATIVE_SUBJECT.match(fold(text))
    if match is None:
        return None
    noun = match.group(1).rstrip("sx")
    for sentence in reversed(before[-ANTECEDENT_SENTENCES:]):
        folded = fold(sentence)
        if _PRONOUN_START.match(folded) is None and any(w.rstrip("sx") == noun for w in folded_words(folded)):
            return sentence
    return None


def _vocabulary(texts: Sequence[str]) -> tuple[frozenset[str], np.ndarray]:
    """Folded words and lemmas of the texts, and the unit vectors of those that have one.

    Per text, what spaCy found is kept for the next build (a reloaded knowledge base mostly
    repeats the last one's texts: a knowledge-only update goes live sooner)."""
    from bot.knowledge.nlp import page_docs

    missing = [t for t in dict.fromkeys(texts) if t not in _TEXT_WORDS]
    for text, doc in zip(missing, page_docs(missing), strict=True):
        found: set[str] = set()
        found_vectors: dict[str, np.ndarray] = {}
        for token in doc:
            if not token.is_alpha:
                continue
            found.update((fold(token.text), fold(token.lemma_)))
            if token.has_vector and not token.is_stop:
                norm = float(np.linalg.norm(np.asarray(token.vector)))
                if norm:
                    found_vectors[token.lower_] = token.vector / norm
        _TEXT_WORDS[text] = (frozenset(found), found_vectors)
    words: set[str] = set()
    vectors: dict[str, np.ndarray] = {}
    for text in texts:
        text_words, text_vectors = _TEXT_WORDS[text]
        words |= text_words
        vectors.update(text_vectors)
    _keep_only(_TEXT_WORDS, texts)
    matrix = np.vstack(list(vectors.values())) if vectors else np.zeros((0, 1))
    return frozenset(words), matrix


def _page_terms(texts: Sequence[str]) -> list[list[Token]]:
    """bot.knowledge.search.spacy_terms of page texts, each text analysed once across rebuilds."""
    from bot.knowledge.nlp import page_docs

    missing = [t for t in dict.fromkeys(texts) if t not in _TEXT_TERMS]
    _TEXT_TERMS.update(zip(missing, spacy_terms(missing, page_docs(missing)), strict=True))
    found = [_TEXT_TERMS[t] for t in texts]
    _keep_only(_TEXT_TERMS, texts)
    return found


def _keep_only(cache: MutableMapping[str, Any], texts: Sequence[str]) -> None:
    """Forget the texts of older knowledge once the cache holds far more than the current ones."""
    if len(cache) > 2 * len(texts) + 100:
        current = set(texts)
        for text in [t for t in cache if t not in current]:
            del cache[text]


# Page texts analysed by spaCy, kept between builds of the index (never users' questions).
_TEXT_WORDS: dict[str, tuple[frozenset[str], dict[str, np.ndarray]]] = {}
_TEXT_TERMS: dict[str, list[Token]] = {}


# A place name's stem an adjective is made of has at least this many letters ("mali" of "malien").
DEMONYM_MIN_STEM = 4
# Names are read from units of at least this many words (sentences, not a list item naming one State).
DEMONYM_SENTENCE_WORDS = 6
_CAPITALISED = re.compile(r"\b[A-ZÀ-Ý][a-zà-ÿ]{3,}\b")


# "en 75 l oim a aidé ki": a year told by its last two digits, then a clause (not "en 10 jours").
_SHORT_YEAR = re.compile(
    r"\b(en|in)\s+'?(\d\d)\b(?=\s*(?:$|[?!.,;:]|(?:l|l'|la|le|les|c|ca|ça|on|il|ils|elle|elles|oim|loim|qui|ki|quoi|koi|ou|et)\b))",
    re.IGNORECASE,
)

# "les années 70", "années 1970", "années 2000": a decade, written as its years in the pages.
_DECADE = re.compile(r"\bann[eé]es\s+(19|20)?([0-9])0\b", re.IGNORECASE)


def with_decade_years(question: str) -> str:
    """The question with each decade written as its ten years ("les années 70" -> "les années 1970
    1971 ... 1979"): the pages date events by year ("le Chili en 1973"), and the bare "70" would
    match "les 70 dernières années" instead. Only the search reads it."""

    def years(match: re.Match[str]) -> str:
        century = match.group(1) or ("20" if match.group(2) in "01" else "19")
        start = int(f"{century}{match.group(2)}0")
        return "années " + " ".join(str(year) for year in range(start, start + 10))

    return _DECADE.sub(years, question)


def _place_names(texts: Iterable[str]) -> tuple[Counter[str], dict[str, list[str]]]:
    """Folded words the texts write capitalised and never in lower case, with how often, and by the
    stems an adjective is made of: the name, without its final vowel, without a final "ie"
    ("libye": libye, liby)."""
    texts = [text for text in texts if len(text.split()) >= DEMONYM_SENTENCE_WORDS]
    counts = Counter(fold(m.group(0)) for text in texts for m in _CAPITALISED.finditer(text, 1))
    for word in {fold(w) for text in texts for w in re.findall(r"\b[a-zà-ÿ]{4,}\b", text)}:
        counts.pop(word, None)
    by_stem: dict[str, list[str]] = {}
    for name in sorted(counts):
        for stem in {name, name[:-1] if name[-1] in "aeiouy" else name, name[:-2] if name.endswith("ie") else name}:
            by_stem.setdefault(stem, []).append(name)
    return counts, by_stem


def _prefixes(text: str) -> set[str]:
    """The first six letters of the text's words of four letters or more ("observateurs" -> "observ")."""
    return {w[:6] for w in folded_words(text) if len(w) > 3}


def text_shows(text: str, evidence: str) -> bool:
    """Whether a text on its own shows a number, a date... (entity-based kinds count as shown)."""
    if evidence in ("place", "places", "agent"):
        return True
    return evidence in _features(text, [], False)


class SentenceIndex:
    """Units of every passage and fact quote of a knowledge base, searchable with BM25 and
    compared by meaning (mean word vectors of fr_core_news_md, for "santé" ~ "médicale")."""

    def __init__(self, kb: KnowledgeBase, units: Sequence[Unit], vectors: np.ndarray) -> None:
        self.kb = kb
        self.units = tuple(units)
        self._vectors = vectors  # one unit-length row per unit (zeros when no word has a vector)
        self._position = {u.id: i for i, u in enumerate(self.units)}
        self._topics: dict[str, frozenset[str]] = {}
        self._others: dict[str, frozenset[str]] = {}
        self._source_sections: dict[str, frozenset[tuple[str, str]]] = {}
        self._by_id = {u.id: u for u in self.units}
        self._search = PassageIndex.build(
            (Passage(u.id, "", u.section, f"{u.searched_context or u.context} {u.text}".strip()) for u in self.units),
            analyzer=_page_terms,
            b=LENGTH_NORMALISATION,
            query_analyzer=spacy_terms,  # questions: in memory only (bot.knowledge.nlp.search_docs)
        )
        self._by_passage: dict[str, list[Unit]] = {}
        for unit in self.units:
            if not unit.id.endswith(("w", "#list")):
                self._by_passage.setdefault(unit.passage_id, []).append(unit)
        # Per passage, the passages just before and just after it in its page file (sentence_before/after).
        self._page_neighbours: dict[str, tuple[str | None, str | None]] = {}
        passages = kb.passages(include_navigation=True)
        for at, passage in enumerate(passages):
            before, after = passages[at - 1] if at else None, passages[at + 1] if at + 1 < len(passages) else None
            self._page_neighbours[passage.id] = (
                before.id if before is not None and before.source_file == passage.source_file else None,
                after.id if after is not None and after.source_file == passage.source_file else None,
            )
        # The pages' words (and the extra words respell was given) by first letter, for respell.
        self._spellings: dict[frozenset[str], dict[str, list[str]]] = {}
        self._sounds: dict[frozenset[str], dict[str, list[str]]] = {}
        shares: dict[str, int] = {}
        # Per six-letter prefix, the sentences and items using it (units_using: not the pairs of
        # sentences nor the whole lists, which repeat them).
        self._prefix_counts: dict[str, int] = {}
        for unit in self.units:
            own = not unit.id.endswith(("w", "#list"))
            for prefix in _prefixes(unit.text):
                shares[prefix] = shares.get(prefix, 0) + 1
                if own:
                    self._prefix_counts[prefix] = self._prefix_counts.get(prefix, 0) + 1
        common = {w for w, n in shares.items() if n > SECTION_WORD_MAX_SHARE * len(self.units)}
        # Per unit, the words of its section title that name something ("observateurs", not "aide").
        self._section_words = {u.id: _prefixes(u.section) - common for u in self.units}
        self._text_prefixes = {u.id: _prefixes(u.text) for u in self.units}
        self._cue_prefixes = _prefixes(" ".join(kb.answering.cue_words))
        self._evidence_counts: dict[str, int] = {}  # units showing each kind of evidence (_is_rare)
        self._uncited: dict[str, set[tuple[str, str]]] | None = None  # _uncited_sections
        self._place_names: tuple[Counter[str], dict[str, list[str]]] | None = None  # place_of_demonym
        self._vocabulary, self._word_vectors = _vocabulary(
            [f"{u.section} {u.text}" for u in self.units] + [e.answer for e in kb.entries()]
        )

    @classmethod
    def build(cls, kb: KnowledgeBase) -> SentenceIndex:
        """Split every passage into units, add the fact quotes the passages do not hold."""
        raw: list[tuple[str, str, str, str, bool]] = []  # id, passage, section, text, list item
        contexts: dict[str, str] = {}
        subjects: dict[str, str] = {}
        seen: dict[str, list[str]] = {}
        # The last sentence of each section so far that names its subject: "Il a abouti à la
        # création du FMMD", first of its passage, is about "Le premier Dialogue...", said before.
        last_sentence: dict[tuple[str, str], str] = {}
        said_before: dict[tuple[str, str], list[str]] = {}  # each section's sentences so far
        timed: set[str] = set()  # units whose date is in their context (_TIME_BEFORE)
        # A page's menu items are searched only when a topic cites the menu (the organisation's offices).
        cited = {source for entry in kb.entries() for source in entry.sources}
        searched = [p for p in kb.passages(include_navigation=True) if not p.navigation or p.id in cited]
        for passage in searched:
            previous = ""
            items: list[str] = []
            for n, (text, list_item) in enumerate(passage_units(passage), 1):
                if text.rstrip().endswith(":") and len(text) < 80:
                    continue  # "Les opérations de mouvement de l'OIM comprennent :" says nothing
                if passage.navigation and not list_item:
                    continue  # a menu's items, not its headings run together
                unit_id = f"{passage.id}#{n}"
                raw.append((unit_id, passage.id, passage.section, text, list_item))
                if list_item:
                    items.append(text)
                section_key = (passage.source_file, passage.section)
                antecedent = None if list_item else _antecedent(text, said_before.get(section_key, []))
                if antecedent is not None and antecedent != previous:
                    # "Ce Dialogue a recensé ...": the sentence naming that dialogue ("Le deuxième
                    # Dialogue de haut niveau était consacré ...") is quoted with it, not merely
                    # the one before; searched, though, are the words searched without it.
                    contexts[unit_id] = antecedent
                    subjects[unit_id] = previous or _subject(antecedent)
                elif n == 1 and not list_item and _PRONOUN_START.match(text):
                    carried = last_sentence.get(section_key, "")
                    if carried:
                        contexts[unit_id] = carried
                        subjects[unit_id] = _subject(carried)
                if previous and not list_item and unit_id not in contexts:
                    if _PRONOUN_START.match(text):
                        contexts[unit_id] = previous
                    else:
                        # Two sentences together answer what neither does alone ("L'année 2016 a
                        # marqué un tournant..." + "...faire entrer officiellement l'OIM...").
                        raw.append((f"{unit_id}w", passage.id, passage.section, f"{previous} {text}", False))
                elif (
                    n == 1 and not list_item and unit_id not in contexts
                    and said_before.get(section_key) and _TIME_BEFORE.search(fold(text))
                ):
                    # A paragraph's first sentence whose time the one before tells ("...ont saisi cette
                    # occasion historique pour faire entrer officiellement l'OIM..." after "L'année 2016
                    # a marqué un tournant..."): quoted with it, showing its date, searched by that
                    # date only (not by all the words of the sentence before). Never in place of an
                    # antecedent or a carried subject found above.
                    contexts[unit_id] = said_before[section_key][-1]
                    subjects[unit_id] = " ".join(_dates_in(contexts[unit_id])) or contexts[unit_id]
                    timed.add(unit_id)
                previous = "" if list_item else text
                if not list_item:
                    said_before.setdefault(section_key, []).append(text)
                if not list_item and not _PRONOUN_START.match(text):
                    last_sentence[(passage.source_file, passage.section)] = text
                seen.setdefault(passage.id, []).append(fold(text))
            if len(items) >= 2:
                # The list as a whole ("quels sont les observateurs ?", "combien d'États participants ?").
                raw.append((f"{passage.id}#list", passage.id, passage.section, " ; ".join(items), True))
        for entry in kb.entries():
            facts = [*entry.facts, *(f for a in entry.aspects.values() for f in a.facts)]
            for n, fact in enumerate(facts, 1):
                if fact.current is False:
                    continue  # pages disagree and this value is not today's
                quote = fold(fact.quote)
                if any(quote in unit for unit in seen.get(fact.source, [])):
                    continue
                fact_passage = kb.passage(fact.source)
                section = fact_passage.section if fact_passage else ""
                raw.append((f"{entry.id}#fact{n}", fact.source, section, fact.quote, False))
                seen.setdefault(fact.source, []).append(quote)
        docs = _analyse([text for _, _, _, text, _ in raw])
        units = []
        for (uid, pid, section, text, list_item), (labels, _vector) in zip(raw, docs, strict=True):
            shown = f"{section} {text}" if list_item else text  # "États participants (195 États)"
            if uid in timed:
                shown = f"{contexts[uid]} {text}"
            units.append(
                Unit(
                    uid,
                    pid,
                    section,
                    text,
                    list_item,
                    _features(shown, labels, list_item),
                    contexts.get(uid, ""),
                    subjects.get(uid, ""),
                )
            )
        vectors = np.vstack([vector for _, vector in docs]) if docs else np.zeros((0, 1))
        return cls(kb, units, vectors)

    def unit(self, unit_id: str) -> Unit | None:
        return self._by_id.get(unit_id)

    def section_units(self, unit: Unit) -> list[Unit]:
        """The sentences and items of the unit's page section, in page order (every passage of it)."""
        passage = self.kb.passage(unit.passage_id)
        if passage is None:
            return [unit]
        return [
            u
            for pid, units in self._by_passage.items()
            if (p := self.kb.passage(pid)) is not None
            and p.source_file == passage.source_file
            and p.section == passage.section
            for u in units
        ]

    def units_using(self, prefix: str) -> int:
        """How many sentences and items of the pages use a word starting with these six letters."""
        return self._prefix_counts.get(prefix[:6], 0)

    def siblings(self, unit: Unit) -> list[Unit]:
        """The sentences and items of the same passage, in order (a whole list for a list item)."""
        return list(self._by_passage.get(unit.passage_id, []))

    def sentence_before(self, unit: Unit) -> Unit | None:
        """The page's sentence or item just before the unit: the one before in its passage, or, for a
        passage's first (or a unit of no passage's list: a pair of sentences, a whole list), the last
        of the passage just before it in the page file (fact quotes left out)."""
        siblings, position = self._in_passage(unit)
        if position:
            return siblings[position - 1]
        units = self._neighbour_units(unit.passage_id, after=False)
        return units[-1] if units else None

    def sentence_after(self, unit: Unit) -> Unit | None:
        """The page's sentence or item just after the unit (after the last sentence of a pair): the next
        in its passage, or the first of the next passage of the same page file (fact quotes left out)."""
        if unit.id.endswith("w"):
            unit = self._by_id.get(unit.id[:-1], unit)  # "#2w" (sentences 1-2) goes on after "#2"
        siblings, position = self._in_passage(unit)
        if position is None:
            return None
        if position + 1 < len(siblings):
            return siblings[position + 1]
        units = self._neighbour_units(unit.passage_id, after=True)
        return units[0] if units else None

    def _in_passage(self, unit: Unit) -> tuple[list[Unit], int | None]:
        """The sentences and items of the unit's passage, and its place among them (None if not one)."""
        siblings = self._by_passage.get(unit.passage_id, [])
        return siblings, next((i for i, u in enumerate(siblings) if u.id == unit.id), None)

    def _neighbour_units(self, passage_id: str, after: bool) -> list[Unit]:
        """The sentences and items (fact quotes left out) of the passage just before or after this one
        in its page file; none at the page's start or end."""
        neighbour = self._page_neighbours.get(passage_id, (None, None))[after]
        return [u for u in self._by_passage.get(neighbour, []) if "#fact" not in u.id] if neighbour else []

    def topic_passages(self, entry: Entry | None) -> frozenset[str]:
        """The entry's passages and the others of their page sections (computed once per entry)."""
        if entry is None:
            return frozenset()
        known = self._topics.get(entry.id)
        if known is None:
            known = self._topics[entry.id] = self._sections_of(entry)
        return known

    def passages_of_other_entries(self, entry: Entry) -> frozenset[str]:
        """The passages other entries are written from, and this one is not (once per entry)."""
        known = self._others.get(entry.id)
        if known is None:
            written = {pid for other in self.kb.entries() if other.id != entry.id for pid in other.sources}
            known = self._others[entry.id] = frozenset(written - set(entry.sources))
        return known

    def source_sections(self, entry: Entry) -> frozenset[tuple[str, str]]:
        """The (page file, section) of each passage the entry is written from (once per entry)."""
        known = self._source_sections.get(entry.id)
        if known is None:
            passages = (self.kb.passage(pid) for pid in entry.sources)
            known = self._source_sections[entry.id] = frozenset(
                (p.source_file, p.section) for p in passages if p is not None and p.section
            )
        return known

    def _sections_of(self, entry: Entry) -> frozenset[str]:
        ids = set(entry.sources)
        sections = set(self.source_sections(entry))
        # Not the passages another entry is written from: in the section "Réinstallation,
        # relocalisation et voies complémentaires", the resettlement's sentences are not the relocation's.
        others = self.passages_of_other_entries(entry)
        sections |= self._uncited_sections_led_by(entry)
        for passage in self.kb.passages():
            if (passage.source_file, passage.section) in sections and passage.id not in others:
                ids.add(passage.id)
        return frozenset(ids)

    def _uncited_sections_led_by(self, entry: Entry) -> set[tuple[str, str]]:
        """The sections no entry cites on the pages where this entry cites the most passages: a page
        section nobody wrote a fact from ("Faire participer ... les migrants en tant qu'acteurs du
        développement") is still about the page's main topic."""
        return self._uncited_sections().get(entry.id, set())

    def _uncited_sections(self) -> dict[str, set[tuple[str, str]]]:
        """Entry id -> the uncited sections of the pages it leads (tallied once per index)."""
        if self._uncited is None:
            cited: dict[str, Counter[str]] = {}
            cited_sections: set[tuple[str, str]] = set()
            for other in self.kb.entries():
                for pid in other.sources:
                    passage = self.kb.passage(pid)
                    if passage is not None:
                        cited.setdefault(passage.source_file, Counter())[other.id] += 1
                        cited_sections.add((passage.source_file, passage.section))
            leader = {page: counts.most_common(1)[0][0] for page, counts in cited.items()}
            uncited: dict[str, set[tuple[str, str]]] = {}
            for p in self.kb.passages():
                if p.source_file in leader and p.section and (p.source_file, p.section) not in cited_sections:
                    uncited.setdefault(leader[p.source_file], set()).add((p.source_file, p.section))
            self._uncited = uncited
        return self._uncited

    def rank(
        self,
        question: str,
        topic: Entry | None = None,
        evidence: str = "none",
        k: int = 5,
        within_topic: bool = False,
        whole_question: str | None = None,
    ) -> list[RankedUnit]:
        """Best units for the question: words in common, meaning, topic, question-type evidence.

        Candidates are the units sharing a word with the question plus every unit of the topic
        (a follow-up may share no word with the sentence that answers it). `question` may leave
        out the words naming the topic (they rank none of its sentences above another); units
        off the topic's pages are then found and scored by `whole_question`: "qui a créé le Groupe
        mondial ?" is not answered by who created the OIM.
        """
        topic_ids = self.topic_passages(topic)
        topic_pages = {p.source_file for pid in topic_ids if (p := self.kb.passage(pid)) is not None}
        question = with_decade_years(self.with_place_names(question))
        whole_question = with_decade_years(self.with_place_names(whole_question)) if whole_question else whole_question
        scores = {passage.id: score for passage, score, _raw in self._search.search(question, k=max(80, k))}
        if whole_question and whole_question != question and topic_ids:
            whole = {p.id: score for p, score, _raw in self._search.search(whole_question, k=max(80, k))}
            # Off the topic's pages the topic's words are words like any other ("un professionnel de
            # la santé qui quitte la Malaisie", asked while on the health services): scored on the
            # whole question, found by it too.
            scores = {u: s for u, s in scores.items() if self._about_topic(u, topic_pages)} | {
                u: s for u, s in whole.items() if not self._about_topic(u, topic_pages)
            }
        counted, unqualified = _counted(whole_question or question) if evidence == "number" else (frozenset(), False)
        asked_stems = _asked_stems(whole_question or question) if counted else set()
        # Items of a list whose heading gives the figure asked (read once, for scoring and bonus).
        counted_headings = {
            u.id for u in self.units if counted and self._counted_heading(u, counted, asked_stems, unqualified, topic_pages)
        }
        best_words = max(scores.values(), default=0.0)
        # What only a handful of units show ("#formigration" for "quel est le hashtag de l'OIM ?")
        # is found by what it is: as good a match on words as the best, whatever words it shares.
        scarce = self.is_scarce(evidence)
        for unit in self.units:
            if scarce and evidence in unit.features:
                scores[unit.id] = max(scores.get(unit.id, 0.0), best_words)
            if unit.id in counted_headings:
                # The heading says all the question asks and gives its figure: as good a match on
                # words as the best, whatever else the question names.
                scores[unit.id] = max(scores.get(unit.id, 0.0), best_words)
            elif unit.passage_id in topic_ids:
                scores.setdefault(unit.id, 0.0)
        similarity = self._similarities(question, list(scores))
        asked = _prefixes(question)
        question_words = {_bare(w) for w in folded_words(question) if len(w) > 3 and w not in stop_words()}
        ranking_asked = asks_ranking(whole_question or question)
        # A word of the question that one sentence of the pages uses names what it speaks of
        # ("rapport phare": "la publication phare de l'OIM"): that sentence gets a little more.
        # Not a word the question types are asked with ("ça a abouti à quoi ?").
        rare_asked = {
            p for p in asked
            if 0 < self.units_using(p) <= RARE_SHARED_UNITS and p not in self._cue_prefixes and p not in stop_words()
        }  # fmt: skip
        ranked: list[RankedUnit] = []
        for unit_id, score in scores.items():
            unit = self._by_id[unit_id]
            if unit_id.endswith("#list") and evidence not in WHOLE_LIST_EVIDENCE:
                continue  # a whole list answers "which ones?" or "how many?", not a question on one item
            in_topic = unit.passage_id in topic_ids
            if within_topic and not in_topic:
                continue
            shows = (
                evidence == "none"
                or evidence in unit.features
                or (unit.list_item and evidence in LIST_EVIDENCE)
            )
            if not shows and ranking_asked and evidence in LIST_EVIDENCE and "ranking" in unit.features:
                shows = True  # "quels pays surtout ?": "les pays ... qui sont les plus touchés" ranks them
            if shows and evidence == "proportion" and question_words and not _figure_near(unit.text, question_words):
                shows = False  # "quelle proportion des gens sont des migrants ?": not the "90 %" of the staff
            passage = self.kb.passage(unit.passage_id)
            if passage is not None and passage.navigation and unit.list_item and topic_ids and not in_topic:
                # A menu item ("Bureau du Chef de Cabinet") answers only for a topic citing the menu:
                # its few words matched "le chef de l'OIM parle des enfants ... ?" of the Council.
                continue
            # The site's menu, repeated on every page, is no part of the page's article.
            on_page = passage is not None and passage.source_file in topic_pages and not passage.navigation
            combined = score + SEMANTIC_WEIGHT * (similarity.get(unit_id, 0.0) - SEMANTIC_BASELINE)
            combined += TOPIC_BONUS if in_topic else PAGE_BONUS if on_page else 0.0
            if shows and evidence != "none":
                combined += RARE_TYPE_BONUS if self._is_rare(evidence) else TYPE_BONUS
            if evidence == "place" and "places" in unit.features:
                combined += PLACES_BONUS  # "ils vont où ?": the sentence naming several places
            if asked & self._section_words[unit_id]:
                combined += SECTION_BONUS
            # "quels outils ... ?" is answered by "des profils ... et des exercices de ...": two
            # things joined, not an enumeration, but more than one.
            joins = not shows and evidence == "list" and bool(_JOINED.search(unit.text))
            if not shows:
                combined *= JOINED_LIST_FACTOR if joins else TYPE_MISMATCH_FACTOR
            if unit_id in counted_headings:
                combined += COUNTED_HEADING_BONUS
            elif counted and not unit.list_item and _counts(unit.text, counted):
                combined += COUNTED_TEXT_BONUS
            if rare_asked and rare_asked & self._text_prefixes[unit_id]:
                combined += RARE_SHARED_BONUS
            if ranking_asked and "ranking" in unit.features and (in_topic or not topic_ids):
                # After the type ("les plus touchés" may name no country); the topic's own
                # ranking, not another topic's ("les trois premiers pays de réinstallation").
                combined += _ranking_bonus(unit.text, asked)
            ranked.append(RankedUnit(unit, round(combined, 4), score, in_topic, shows or joins, on_page))
        ranked.sort(key=lambda r: (-r.score, r.unit.id))
        return ranked[:k]

    def _counted_heading(
        self, unit: Unit, counted: frozenset[str], asked_stems: set[str], unqualified: bool, topic_pages: set[str]
    ) -> bool:
        """Whether the unit is an item of a list whose heading gives the figure of the thing counted,
        every word of the heading asked, or the thing counted unqualified on the topic's page: a
        candidate whatever else the question names ("combien d'États participent au Dialogue de
        haut niveau sur ... ?" names the meetings' titles too; "ya cb d'états ds le dialogue ?")."""
        if not (unit.list_item and _counts(unit.section, counted)):
            return False
        return _heading_asked(unit.section, asked_stems) or (unqualified and self._about_topic(unit.id, topic_pages))

    def _evidence_count(self, evidence: str) -> int:
        """How many units show this kind of evidence (counted once)."""
        shown = self._evidence_counts.get(evidence)
        if shown is None:
            shown = self._evidence_counts[evidence] = sum(evidence in u.features for u in self.units)
        return shown

    def is_scarce(self, evidence: str) -> bool:
        """Whether only a handful of units show this kind of evidence ("#formigration"): a question
        asking for it is answered by what it asks, whatever words it names."""
        return evidence != "none" and self._evidence_count(evidence) <= SCARCE_EVIDENCE_UNITS

    def _is_rare(self, evidence: str) -> bool:
        """Whether few units show this kind of evidence (a proportion, an outcome): showing it then
        says much more about answering than showing a number or a place does."""
        return self._evidence_count(evidence) <= RARE_TYPE_SHARE * len(self.units)

    def _about_topic(self, unit_id: str, topic_pages: set[str]) -> bool:
        """Whether a unit is on a page the topic cites (the page is about the topic)."""
        passage = self.kb.passage(self._by_id[unit_id].passage_id)
        return passage is not None and passage.source_file in topic_pages

    def knows(self, word: str) -> bool:
        """Whether a folded word (or lemma) appears in the pages."""
        return word in self._vocabulary

    def respell(self, text: str, keep: frozenset[str] = frozenset(), also: frozenset[str] = frozenset()) -> str:
        """The text with each misspelt word replaced by the closest word of the pages ("presant" →
        "present", "rapatriment" → "rapatriement") or of `also` (the question cues: "gratui" →
        "gratuit"), so that SMS spelling finds its sentences and its question.
        Misspelt: unknown to the pages, not in `keep` nor `also`, and either unknown to the language
        model's vocabulary (no word vector) or filed by it under the vector of the word it stands
        for ("persone" shares the row of "personne"); a word with no close word (ratio <
        RESPELL_CUTOFF) stays as typed."""
        import difflib

        from bot.knowledge.nlp import french

        vocab = french().vocab
        spellings = self._spellings_with(also)

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            folded = fold(word)
            if len(folded) < SOUND_MIN_LETTERS or folded in self._vocabulary or folded in keep or folded in also:
                return word
            if len(folded) >= 4 and folded[0] in _ELIDED and folded[1:] in self._vocabulary and folded not in french_words():
                # "lonu", "dasile", "cest": the apostrophe SMS spelling drops; not in a word of its
                # own ("couvre" is not "c'ouvre", "légalement" not "l'également")
                return f"{word[0]}'{word[1:]}"
            if folded not in french_words():
                # Not a word of the language: SMS spelling of the page word it sounds like.
                heard = self._sounds_with(also)
                # A word twice as long is another word ("aid" is not "aidées"; "kom" is "comme").
                alike = sorted(
                    c for c in {c for key in sounds_like(folded) for c in heard.get(key, ())} if len(c) < 2 * len(folded)
                )
                if alike:
                    return min(alike, key=lambda c: (edit_distance(folded, c), len(c) != len(folded), c))
            if len(folded) < 4:
                return word
            candidates = spellings.get(folded[0], [])
            if vocab.has_vector(folded):
                # A word of the model's vocabulary is a word of its own ("montent" is not "montant"),
                # unless the model gives it the very vector of a word one letter away: a variant
                # spelling ("persone"), not an inflection ("paye" is not "payent").
                # A word of the language is never made a question cue that way ("début" is not the
                # "débuté" of "a débuté quand ?", though the model files both under one vector).
                row = _vector_row(vocab, folded)
                cues_too = folded not in french_words()
                candidates = [
                    c for c in candidates
                    if _vector_row(vocab, c) == row and edit_distance(folded, c) == 1
                    and (cues_too or c in self._vocabulary)
                ]  # fmt: skip
                if not candidates:
                    return word
            elif vocab.has_vector(word.lower()):
                # A French word typed with its accents ("débattus", "citées"): only a page word of
                # its family stands for it ("debats"), never one that merely looks alike ("criteres").
                candidates = [c for c in candidates if c[:FAMILY_PREFIX] == folded[:FAMILY_PREFIX]]
            close = difflib.get_close_matches(folded, candidates, n=5, cutoff=RESPELL_CUTOFF)
            if not close:
                return word
            # Fewest edits first, then a word of the same length: SMS spelling swaps sounds
            # ("presant" is "present", not "pressant"); then difflib's order (most alike).
            return min(close, key=lambda c: (edit_distance(folded, c), len(c) != len(folded), close.index(c)))

        return _TYPED_WORD.sub(fix, text)

    def with_years_in_full(self, text: str) -> str:
        """The text with "en 75" written "en 1975" when the pages name that year (and not 2075): SMS
        and speech drop the century; the pages write years in full."""
        named = self._years_named

        def full(match: re.Match[str]) -> str:
            for century in ("19", "20"):
                if century + match.group(2) in named:
                    return f"{match.group(1)} {century}{match.group(2)}"
            return match.group(0)

        return _SHORT_YEAR.sub(full, text)

    def with_place_names(self, question: str) -> str:
        """The question with the place name of each adjective the pages do not use ("la crise chilienne"
        + "chili": the pages say "le Chili en 1973"). Only the search reads it: "je suis malien" still
        tells of the person, not of a question about Mali."""
        names = [
            name for word in folded_words(question)
            if word not in self._vocabulary and (name := self.place_of_demonym(word)) is not None
        ]  # fmt: skip
        return f"{question} {' '.join(names)}" if names else question

    def place_of_demonym(self, folded: str) -> str | None:
        """The name the pages write capitalised that a folded word is the adjective of ("chilienne" ->
        "chili", "libyens" -> "libye"), per search_words.yml's demonym_endings; None if none."""
        if self._place_names is None:
            self._place_names = _place_names(u.text for u in self.units)
        counts, by_stem = self._place_names
        # The name the pages use most (the French "libye" of the sentences, not the English "libya"
        # of a list), then the name itself before one cut short ("chili" + "enne", not "chil(e)" + "ienne").
        found = [
            (counts[name], stem == name, name)
            for ending in demonym_endings()
            if folded.endswith(ending) and len(stem := folded[: -len(ending)]) >= DEMONYM_MIN_STEM
            for name in by_stem.get(stem, ())
        ]  # fmt: skip
        return max(found)[2] if found else None

    def _sounds_with(self, also: frozenset[str]) -> dict[str, list[str]]:
        """The pages' words and `also` by sounds_like key (made once per set of extra words)."""
        known = self._sounds.get(also)
        if known is None:
            known = {}
            for word in sorted(self._vocabulary | also):
                if len(word) >= SOUND_MIN_LETTERS:
                    for key in sounds_like(word):
                        known.setdefault(key, []).append(word)
            self._sounds = {also: known}
        return known

    def _spellings_with(self, also: frozenset[str]) -> dict[str, list[str]]:
        """The pages' words and `also`, by first letter (typos rarely change it; 20x faster)."""
        known = self._spellings.get(also)
        if known is None:
            known = {}
            for word in sorted(self._vocabulary | also):
                if len(word) >= 3:
                    known.setdefault(word[0], []).append(word)
            self._spellings = {also: known}  # one set of extra words is used: keep the last
        return known

    def unknown_nouns(self, question: str, ignore: frozenset[str] = frozenset()) -> list[str]:
        """Nouns of the question that no page uses, nor a word close in meaning or spelling:
        "cours de langue", "budget", "animal" — what the pages do not talk about."""
        from bot.knowledge.nlp import search_docs

        found: list[str] = []
        doc = search_docs([question])[0]
        for token in doc:
            if token.pos_ != "NOUN" or not token.is_alpha or token.is_stop or len(token.text) < 4:
                continue
            if any(t.lower_ in _POSSESSIVES for t in doc[max(0, token.i - 2) : token.i]):
                continue  # "mon fils", "ma petite sœur": the user's story, not the point asked
            forms = {fold(token.text), fold(token.lemma_)}
            alike = {other for form in forms for other in same_meaning().get(form, ())}
            # "info": a word the search itself leaves out names no point; "mer": the pages say
            # "maritimes" (search_words.yml same_meaning).
            if forms & ignore or forms & stop_words() or (forms | alike) & self._vocabulary:
                continue
            if any(self.place_of_demonym(form) for form in forms):
                continue  # "les Hongrois": the pages say "la Hongrie en 1956"
            if any(len(form) >= 4 and self._inflected(form) for form in forms):
                continue  # "pilote": the pages say "pilotée"
            if any(len(form) >= CLIPPED_MIN_LETTERS and self._clipped(form) for form in forms):
                continue  # "develop", "gouvern": a page word cut short, as SMS writes it
            if not token.has_vector:
                continue  # unknown to the language model: a typo or SMS spelling, not a topic
            if any(self._one_letter_from_a_page_word(form) for form in forms):
                continue  # "forom": the pages' "forum" mistyped, though the model knows the typo
            vector = token.vector / (float(np.linalg.norm(np.asarray(token.vector))) or 1.0)
            if self._word_vectors.size and float((self._word_vectors @ vector).max()) >= CLOSE_WORD:
                continue  # "mer" ~ "maritimes": the pages speak of it in other words
            found.append(token.text.lower())
        return found

    def _one_letter_from_a_page_word(self, form: str) -> bool:
        """Whether `form`, no word of the language, is one letter away from a page word of the same
        first letter and length (TYPO_MIN_LETTERS letters or more: short words one letter apart are
        other words)."""
        if len(form) < TYPO_MIN_LETTERS or form in french_words():
            return False  # "langue" is no typo of "longue"
        same_start = self._words_by_initial.get(form[0], ())
        return any(len(word) == len(form) and edit_distance(form, word) == 1 for word in same_start)

    @cached_property
    def _words_by_initial(self) -> dict[str, tuple[str, ...]]:
        """The pages' words by first letter, built once."""
        grouped: dict[str, list[str]] = {}
        for word in sorted(self._vocabulary):
            grouped.setdefault(word[0], []).append(word)
        return {letter: tuple(words) for letter, words in grouped.items()}

    @cached_property
    def _years_named(self) -> frozenset[str]:
        """Every year the pages write (in full), built once."""
        return frozenset(m.group(0) for unit in self.units for m in YEAR.finditer(unit.text))

    def _clipped(self, form: str) -> bool:
        """Whether a page word begins with `form` ("develop": "developpement")."""
        return any(word.startswith(form) for word in self._vocabulary)

    def close_in_meaning(self, words: Sequence[str], text: str) -> bool:
        """Whether a word of the text is close in meaning to one of the words (cosine of their word
        vectors at least CLOSE_WORD: "crises" / "catastrophes"); stop words do not count."""
        from bot.knowledge.nlp import french

        vocab = french().vocab
        wanted = [np.asarray(vocab[w].vector) for w in words if vocab.has_vector(w)]
        text_words = {w.lower() for w in re.findall(r"[^\W\d_]{4,}", text)}
        found = [np.asarray(vocab[w].vector) for w in text_words if vocab.has_vector(w) and w not in stop_words()]
        if not wanted or not found:
            return False
        a: np.ndarray = np.vstack(wanted)
        b: np.ndarray = np.vstack(found)
        a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-9
        b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-9
        return bool((a @ b.T).max() >= CLOSE_WORD)

    def _inflected(self, word: str) -> bool:
        """Whether a page word is the folded word with a gender or number ending ("pilote" -> "pilotee"),
        the verb of which it is a form ("veille" -> "veiller": "l'OIM veille à quoi ?"), or its
        adjective ("region" -> "regionales")."""
        endings = (*INFLECTIONS, *VERB_ENDINGS) if word.endswith("e") else INFLECTIONS
        if any(f"{word}{ending}" in self._vocabulary for ending in endings):
            return True
        stem = word[:-1] if word.endswith("e") else word  # "commune" -> "communal"
        return any(f"{stem}{ending}" in self._vocabulary for ending in ADJECTIVE_ENDINGS)

    def _similarities(self, question: str, unit_ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the question's meaning with each unit's (0 without vectors)."""
        query = _analyse([question], entities=False, keep=False)[0][1]
        if not unit_ids or not query.any():
            return {}
        # Every unit's similarity in one product, then the asked ones picked: copying the asked
        # units' rows first (hundreds of 300-float rows) cost more than the product itself.
        every = (self._vectors @ query).tolist()
        position = self._position
        return {u: every[position[u]] for u in unit_ids}


def _vector_row(vocab: Any, word: str) -> int | None:
    """The row of the word's vector in the language model (words it files together share one)."""
    row = vocab.vectors.key2row.get(vocab.strings[word])
    return None if row is None else int(row)


# A word in capitals this long is shouted, not an acronym ("OBSERVATEURS"; "UNESCO" is a name).
SHOUTED_WORD_MIN = 7


def _analyse(texts: Sequence[str], entities: bool = True, keep: bool = True) -> list[tuple[list[str], np.ndarray]]:
    """Per text: spaCy's entity labels (LOC, PER, ORG, MISC) and the unit-length mean vector of
    its content words (stop words and punctuation left out: they make every sentence alike).

    Page texts are kept (`keep`): a reloaded knowledge base mostly repeats the last one's
    sentences, so its index is rebuilt in a fraction of the first build's time. Users' questions
    are never kept.
    """
    from bot.knowledge.nlp import french, page_docs, search_docs

    nlp = french()
    known = _ANALYSED if keep else {}
    missing = list(dict.fromkeys(t for t in texts if (t, entities) not in known))
    fresh: dict[tuple[str, bool], tuple[list[str], np.ndarray]] = {}
    docs: Iterable[Doc]
    if keep and entities:
        docs = page_docs(missing)  # page texts: read back from the disk cache
    elif entities:
        docs = nlp.pipe([fold_apostrophes(t) for t in missing])  # never written anywhere
    else:
        docs = search_docs(missing)  # a question: analysed in memory only
    for text, doc in zip(missing, docs, strict=True):
        words = [np.asarray(t.vector) for t in doc if t.has_vector and t.is_alpha and not t.is_stop]
        if not keep:
            # A question's words typed in capitals ("les OBSERVATEURS du dialogue"): the model knows
            # them in lower case only. Not an acronym ("OIM", "UNICEF": names, not shouting).
            words += [
                np.asarray(nlp.vocab.get_vector(t.lower_)) for t in doc
                if not t.has_vector and t.is_alpha and t.is_upper and len(t) >= SHOUTED_WORD_MIN and not t.is_stop
                and nlp.vocab.has_vector(t.lower_)
            ]  # fmt: skip
        vector = np.mean(words, axis=0) if words else np.zeros(nlp.vocab.vectors_length, dtype="float32")
        norm = float(np.linalg.norm(vector))
        fresh[(text, entities)] = ([ent.label_ for ent in doc.ents], vector / norm if norm else vector)
    if keep:
        _ANALYSED.update(fresh)
    return [fresh.get((t, entities)) or known[(t, entities)] for t in texts]


_ANALYSED: dict[tuple[str, bool], tuple[list[str], np.ndarray]] = {}


_indexes: dict[int, SentenceIndex] = {}
KEPT_INDEXES = 2
_lock = threading.Lock()


def sentence_index(kb: KnowledgeBase) -> SentenceIndex:
    """The index of this knowledge base, built once (a reloaded knowledge base gets its own)."""
    key = id(kb)
    index = _indexes.get(key)
    if index is None:
        with _lock:
            index = _indexes.get(key)
            if index is None:
                index = SentenceIndex.build(kb)
                _indexes[key] = index
                while len(_indexes) > KEPT_INDEXES:  # the live version and the one replacing it
                    _indexes.pop(next(iter(_indexes)))
    return index
