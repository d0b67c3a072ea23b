"""What a question asks, read from its words: its type, the aspect it asks about, whether it is a
follow-up, the situation it describes, and its parts when it holds two questions.

Why: the intent says which topic a message is about; the answer must fit the question inside the
topic ("combien", "quand", "c'est gratuit ?"). The cue words live in data/knowledge/answering.yml
(one schema, the pydantic models below), so maintainers tune them without touching code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, validator

from bot.knowledge.records import CONTACT_CHANNELS
from bot.knowledge.search import keep_words
from bot.knowledge.sms import SmsSpellings, sms_table
from bot.knowledge.textnorm import YEAR, fold, fold_apostrophes, folded_words, strip_accents
from bot.knowledge.user_text import sentences
from bot.knowledge.yamlio import load_yaml

ANSWERING_FILE = "answering.yml"
EVIDENCE_KINDS = ("hashtag", "proportion", "number", "date", "founding", "outcome", "dependency", "activity", "place", "agent", "reason", "list", "places", "title", "quote", "seen_as", "none")


def valid_pattern(pattern: str) -> str:
    """The pattern if it compiles; a ValueError naming it otherwise (pydantic reports it)."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"bad regular expression {pattern!r}: {error}") from None
    return pattern


def _check_type_names(where: str, names: list[str], values: dict[str, Any]) -> None:
    """A ValueError when a list meant to name question types (of the rules read so far) names another."""
    unknown = set(names) - {rule.name for rule in values.get("question_types") or []}
    if unknown:
        raise ValueError(f"{where} names no question type: {sorted(unknown)}")


def _compile_all(patterns: list[str]) -> list[str]:
    return [valid_pattern(pattern) for pattern in patterns]


# Escapes and look-arounds of a cue pattern, which hold no word of it.
_NOT_LITERAL = re.compile(r"\\[a-zA-Z]")
_LOOKAROUND = re.compile(r"\(\?<?[=!]")
# A word of four letters or more, with optional letters ("gratuite?s?").
_LITERAL_WORD = re.compile(r"(?<![a-z(])(?:[a-z]\??){4,}(?![a-z(])")


def _without_lookarounds(pattern: str) -> str:
    """The pattern without its lookarounds, nested groups included: "numero(?! de (la )?resolution)"
    asks "numero", not "resolution"."""
    kept, end = [], 0
    for start in (m.start() for m in _LOOKAROUND.finditer(pattern)):
        if start < end:
            continue  # inside a lookaround already dropped
        kept.append(pattern[end:start])
        depth, end = 0, start
        while end < len(pattern):
            depth += {"(": 1, ")": -1}.get(pattern[end], 0) if pattern[end - 1 : end] != "\\" else 0
            end += 1
            if depth == 0:
                break
    return " ".join([*kept, pattern[end:]])


def _literal_words(pattern: str) -> set[str]:
    """The whole words a cue pattern spells out, with and without its optional letters."""
    words: set[str] = set()
    for literal in _LITERAL_WORD.findall(_NOT_LITERAL.sub(" ", _without_lookarounds(pattern))):
        forms = {""}
        for letter, optional in re.findall(r"([a-z])(\??)", literal):
            forms = {f + letter for f in forms} | (forms if optional else set())
        words |= {f for f in forms if len(f) >= 4}
    return words


def _words_not_booleans(value: Any) -> Any:
    """A word list must hold words: YAML reads a bare `on`, `no` or `yes` as a boolean, which
    pydantic would then turn into "True" (the first person "on" was lost that way)."""
    if isinstance(value, list):
        flags = [v for v in value if isinstance(v, bool)]
        if flags:
            raise ValueError("a word read as a boolean (quote on, off, yes, no, true, false in YAML)")
    return value


class CueRule(BaseModel):
    """Cue patterns that ask for something, what a sentence must show to answer it, and what the
    reply says the documents do not give when no sentence does."""

    name: str
    cues: list[str]
    evidence: str
    missing: str = Field(..., min_length=3)

    _check = validator("cues", allow_reuse=True)(_compile_all)


class QuestionTypeRule(CueRule):
    """A kind of answer (count, date, place...); `evidence` is one of EVIDENCE_KINDS."""

    # The cue's words name nothing the answer is about ("s'intitulait" is not what the title is
    # of): they are left out of the words the sentences are ranked against.
    cue_names_nothing: bool = False
    # Asked of a topic alone ("l'OIM fait quoi ?"), the type asks what the topic is: its summary
    # answers; asked of something more ("... au niveau local ?"), a sentence showing it does.
    summary_of_topic_alone: bool = False
    # Asked of a topic with words of its summary ("ce que fait l'OIM en matière de réinstallation
    # des réfugiés ?"), the type still asks what the topic is (not "qui mène l'initiative CRISP ?").
    summary_of_topic_told: bool = False
    # Words a page would give that kind of answer with ("débats sur trois thèmes" for "ils y parlent
    # de quoi ?"): added to the words the sentences are ranked against, for a question naming little.
    terms: str = ""

    def without_cues(self, folded: str) -> str:
        """The folded text with this type's cues blanked."""
        for pattern in self.cues:
            folded = re.sub(pattern, " ", folded)
        return folded

    @validator("evidence")
    def _known_evidence(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        if value not in EVIDENCE_KINDS:
            raise ValueError(f"evidence must be one of {', '.join(EVIDENCE_KINDS)}")
        return value


class AspectRule(CueRule):
    """A point the pages may be silent on (cost, duration...); `evidence` is a pattern, `terms`
    the words a page would say it with, added to the question to find that sentence."""

    terms: str = ""
    # Sentences that touch the point without answering it ("les documents disponibles pour
    # voyager" for "which papers to bring?"): quoted after the gap, never as the answer.
    related: str = ""
    # The entries' curated aspect that answers it ("who" for "c'est pour qui ?"): used, when the
    # entry has it, instead of a page sentence (its facts quote the passages it comes from).
    entry_aspect: str = ""
    # Question types that ask a fact of the pages, not this point: "combien d'antennes hors de
    # Genève ?" counts offices, it asks no address; "quel pays a vu sa candidature acceptée ?"
    # asks a country, not how to apply.
    not_with_types: list[str] = []

    @validator("evidence", "related")
    def _evidence_compiles(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        return valid_pattern(value) if value else value

    @cached_property
    def related_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.related) if self.related else None

    class Config:
        keep_untouched = (cached_property,)


class ContactChannelRule(BaseModel):
    """A way to reach a contact a question may ask for (a phone number...): the Contact field holding
    it, the cues asking for it, and what the reply says when no contact given has one."""

    field: str
    cues: list[str]
    missing: str = Field(..., min_length=3)

    _check = validator("cues", allow_reuse=True)(_compile_all)

    @validator("field")
    def _known_field(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        if value not in CONTACT_CHANNELS:
            raise ValueError(f"field must be one of {', '.join(CONTACT_CHANNELS)} (bot.knowledge.records.Contact)")
        return value


class FollowupRules(BaseModel):
    pointers: list[str]
    max_own_words: int = Field(2, ge=0)
    organisation_words: list[str] = []
    empty_words: list[str] = []
    # The question types a short question right after a contact card may ask of that contact ("il est
    # basé où ?", "c'est qui ?"); another ("et ils y parlent de quoi ?") asks about the topic.
    contact_types: list[str] = []
    # Of those, the types "il"/"elle" may ask of a card nobody asked for (it closed an answer, or a
    # quoted sentence named the person): "elle a ouvert quel jour ?" after the Council's sentence
    # asks the session's day, "il est basé où ?" still the person's city.
    unasked_contact_types: list[str] = []

    _check = validator("pointers", allow_reuse=True)(_compile_all)
    _words = validator("organisation_words", "empty_words", pre=True, allow_reuse=True)(_words_not_booleans)


class TwoQuestionRules(BaseModel):
    starters: list[str]
    min_words: int = Field(1, ge=1)
    # Openings that make what follows a question even without a question-type cue ("c'est quoi").
    question_starts: list[str] = []
    # Kinds of words (ordinals, years) that "..., et le deuxième ?" asks the first question about again.
    elliptic_kinds: list[str] = []
    # Endings of the text before a split point that chain its question word with the next one on
    # one clause ("qu'est-ce qui détermine comment" + " et quand ..."): no second question there.
    chained_endings: list[str] = []

    _check = validator("question_starts", "elliptic_kinds", "chained_endings", allow_reuse=True)(_compile_all)


class SituationRule(BaseModel):
    """A situation described in the user's words that one entry answers."""

    name: str
    all_of: list[list[str]] = Field(..., min_items=1)
    entry: str
    # Words the pages use for this situation ("maire" -> "autorités locales"): the entry's
    # sentences are ranked against the message plus these.
    terms: str = ""


class AnsweringRules(BaseModel):
    """The whole of data/knowledge/answering.yml."""

    version: int
    question_types: list[QuestionTypeRule]
    aspects: list[AspectRule]
    followups: FollowupRules
    two_questions: TwoQuestionRules
    first_person: list[str] = []
    # Phrases that tell no situation although they hold its words ("ça rentre dans ce que l'OIM
    # décrit ?": fits, no return home), blanked before the situations are read.
    not_situation: list[str] = []
    situations: list[SituationRule] = []
    sms_words: list[str] = []
    sms_spellings: dict[str, str] = {}
    contact_cues: list[str] = []
    # Words that ask for a person (not "une personne sur sept"): a handoff stays a handoff.
    person_cues: list[str] = []
    # Per language (english, spanish, german), a question's words in French (phrases first), and
    # how many it needs to be answered.
    foreign_words: dict[str, dict[str, str]] = {}
    foreign_min_words: int = 2
    # Asking whom to write to or call: the contacts answer, whatever topic the classifier read.
    whom_to_contact_cues: list[str] = []
    # Asking for an e-mail address, a phone or fax number: the contacts answer, whatever the topic.
    contact_means_cues: list[str] = []
    # Messages saying the last answer was not understood ("je comprends pas", "hein ?"): the
    # reply asks what the person is looking for, instead of searching the pages for "comprendre".
    not_understood: list[str] = []
    # Question words used as conjunctions or relatives ("réagir vite quand il y a une urgence",
    # "ceux qui partent"), blanked before the type is read when the question still asks something.
    not_question_words: list[str] = []
    # Words that ask a question of no type ("... peut être quoi ?", "qu'est-ce qui ..."): with
    # one of them, blanking the conjunctions may leave no type at all.
    still_asks: list[str] = []
    # A clause put before the question and closed by a comma ("quand un migrant demande à rentrer,
    # l'OIM vérifie ... ?"): its question word asks nothing; always blanked before the type is read.
    leading_clauses: list[str] = []
    # Where the question is set, before a comma ("Dans son discours au Conseil, comment ... ?"):
    # the topic, not what is asked; its words rank no sentence (leading_clauses neither).
    leading_context: list[str] = []
    # Ways to reach a contact (fields of bot.knowledge.records.Contact) a question asks for, said
    # to be missing when no contact given has one.
    contact_channels: list[ContactChannelRule] = []
    # Asking what something is ("c'est quoi ...", "qu'est-ce que ..."): about a topic the message
    # names, the topic's summary answers, even with a word of that summary besides its title.
    definition_cues: list[str] = []
    # Words that ask nothing, blanked before the type and aspect are read: a request for help ("qui
    # peut l'aider ?"), a relative clause on the user's own ("ma famille qui est restée au pays").
    asks_nothing: list[str] = []
    # Asking whether something is so ("voudrait savoir si la société civile a pu ..."): a question
    # on a point, not a wish for help, even in a message telling of oneself or one's own.
    whether_cues: list[str] = []
    # What a question sets aside ("à part la réinstallation, ..."): not searched, naming no topic.
    set_aside: list[str] = []
    # A time told from today ("l'an dernier", "cette année"): the pages are dated and never give a
    # figure for it; a count asked for it is a gap, said before the closest figure they do give.
    relative_times: list[str] = []
    # A year told from the one asked just before ("et l'année d'après ?" after "... en 2018 ?"):
    # written as that year plus or minus one (the pages give years in digits).
    year_after: list[str] = []
    year_before: list[str] = []
    # Where the users say they are, just before a place's name ("moi je suis au Niger en ce moment
    # et ..."): their story, not a place asked about.
    user_place: list[str] = []
    # Letter formulas around a question ("Madame, Monsieur,", "Dans l'attente de votre réponse, je
    # vous adresse mes salutations. Prof. Ndiaye"): matched on the text as typed, case ignored, and
    # taken out before it is read ("attente" asked no delay, "adresse" no office).
    courtesy: list[str] = []

    _words = validator("first_person", "sms_words", pre=True, allow_reuse=True)(_words_not_booleans)
    _check_contact_cues = validator("contact_cues", "whom_to_contact_cues", "contact_means_cues", "person_cues", "not_understood", "definition_cues", "whether_cues", "relative_times", "year_after", "year_before", "user_place", "courtesy", allow_reuse=True)(_compile_all)
    _check_not_question = validator("not_question_words", "still_asks", "set_aside", "leading_clauses", "leading_context", "asks_nothing", allow_reuse=True)(_compile_all)

    class Config:
        keep_untouched = (cached_property,)

    @validator("aspects")
    def _known_types(cls, aspects: list[AspectRule], values: dict[str, Any]) -> list[AspectRule]:  # noqa: N805
        for rule in aspects:
            _check_type_names(f"aspect {rule.name}: not_with_types", rule.not_with_types, values)
        return aspects

    @validator("followups")
    def _known_contact_types(cls, followups: FollowupRules, values: dict[str, Any]) -> FollowupRules:  # noqa: N805
        _check_type_names("followups: contact_types", followups.contact_types, values)
        _check_type_names("followups: unasked_contact_types", followups.unasked_contact_types, values)
        return followups

    @classmethod
    def load(cls, knowledge_dir: Path) -> AnsweringRules:
        data = load_yaml(knowledge_dir / ANSWERING_FILE)
        if isinstance(data, dict):
            data.setdefault("sms_spellings", sms_table(knowledge_dir))  # sms_spellings.yml
        return cls.parse_obj(data)

    @cached_property
    def empty_words(self) -> frozenset[str]:
        """The follow-ups' empty words, folded (read on every question: folded once)."""
        return frozenset(fold(w) for w in self.followups.empty_words)

    @cached_property
    def _type_patterns(self) -> list[tuple[QuestionTypeRule, list[re.Pattern[str]]]]:
        return [(rule, [re.compile(c) for c in rule.cues]) for rule in self.question_types]

    @cached_property
    def _aspect_patterns(self) -> list[tuple[AspectRule, list[re.Pattern[str]], re.Pattern[str]]]:
        return [(a, [re.compile(c) for c in a.cues], re.compile(a.evidence)) for a in self.aspects]

    @cached_property
    def cue_words(self) -> frozenset[str]:
        """The words the cues of question types, aspects and contacts are written with
        ("gratuit", "passeport", "combien"): a typo of one ("gratui") is read as that word. Not the
        words that name things in the pages ("qui passe en premier ?" is no question word of "le
        premier Dialogue"; search_words.yml, keep_words)."""
        patterns = [c for rule in (*self.question_types, *self.aspects) for c in rule.cues] + self.contact_cues
        return frozenset(word for pattern in patterns for word in _literal_words(pattern)) - keep_words()

    @cached_property
    def _sms(self) -> SmsSpellings:
        return SmsSpellings(self.sms_spellings)

    def unsms(self, text: str) -> str:
        """The text with SMS forms written out ("c koi" -> "c'est quoi", "cb d pers" -> "combien de
        personnes"): cues, search and the lemmatiser then read the words the pages use."""
        return self._sms.write_out(text)

    @cached_property
    def _pointer_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.followups.pointers]

    @cached_property
    def _split_pattern(self) -> re.Pattern[str]:
        starters = "|".join(self.two_questions.starters)
        return re.compile(
            rf"\?+\s*|(?<!\ble)(?<!\bla)(?<!\bles)(?<!\bau)(?<!\bdu)\s+\+\s+(?!de\b|d')|[,;]?\s+(?:et|puis|aussi)\s+(?=(?:{starters})\b)|,\s+(?=(?:{starters})\b)"
        )

    @cached_property
    def _question_starts(self) -> re.Pattern[str] | None:
        starts = self.two_questions.question_starts
        return re.compile(rf"^(?:{'|'.join(starts)})") if starts else None

    def _starts_question(self, folded: str) -> bool:
        return bool(self._question_starts and self._question_starts.match(folded))

    def _split_at_and(self, source: str, simple: str) -> list[str]:
        """ "qui dirige l'OIM et son siège c'est où ?", "le premier dialogue a abouti à quoi, et le
        groupe mondial a été établi par qui ?": two questions when both sides ask one; "en quelle
        année s'est tenu le premier dialogue, et le deuxième ?": the first asked again."""
        for position in _and_positions(simple):
            left, right = simple[:position], simple[position:].strip()[2:]
            if self._asks(fold(left)) and self._asks(fold(right)) and not _relatives_chained(fold(left), fold(right)):
                return [source[:position], source[position:].strip()[2:]]
        elliptic = self._elliptic(source, simple) or self._parallel(source, simple) or self._other_subject(source, simple)
        return elliptic or [source]

    def _asks(self, folded: str) -> bool:
        """Whether a clause asks something: a question type, or "quoi", "quel"... (`still_asks`)."""
        return self.question_type(folded) is not None or any(p.search(folded) for p in self._clause_patterns["still_asks"])

    @cached_property
    def _chained_endings(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.two_questions.chained_endings]

    @cached_property
    def _elliptic_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.two_questions.elliptic_kinds]

    def is_ordinal_or_year(self, word: str) -> bool:
        """Whether a folded word is of the kinds that pick one of several ("deuxieme", "2013")."""
        return any(p.search(word) for p in self._elliptic_patterns)

    def _elliptic(self, source: str, simple: str) -> list[str] | None:
        """[the question, the question about the other word] for "<question>, et le deuxième ?"
        (a word of the same kind in both), else None."""
        match = _ELLIPSIS.search(simple)
        if match is None:
            return None
        left, right = source[: match.start()], source[match.start(1) : match.end(1)]
        folded_left, folded_right = fold(left), fold(right)
        if not self.question_type(folded_left):
            return None
        pair = self._another_of_its_kind(folded_left, folded_right)
        if pair is None:
            return None
        said, other = pair
        # Positions found in the folded texts are the original's when folding kept the length
        # (accents stay then); otherwise the folded question is asked again.
        if len(folded_left) == len(left) and len(folded_right) == len(right):
            word, base = right[other.start() : other.end()], left
        else:
            word, base = other.group(0), folded_left
        return [left, base[: said.start()] + word + base[said.end() :]]

    def _parallel(self, source: str, simple: str) -> list[str] | None:
        """[the question, the question about the other thing] for "quelle date pour <A> en 2013, et
        pour <B> en 2015 ?": the same word introduces both things, and each names a year or an
        ordinal of its own (one sentence cannot hold both dates); else None."""
        match = _PARALLEL.search(simple)
        if match is None:
            return None
        link = match.group(1)
        left, right = simple[: match.start()], simple[match.end(1) :]
        introduced = re.search(rf"\b{link}\b", left)
        if introduced is None or not self.question_type(fold(left[: introduced.start()])):
            return None
        if self._another_of_its_kind(fold(left), fold(right)) is None:
            return None
        return [source[: match.start()], source[: introduced.end()] + source[match.end(1) :]]  # same positions

    def _other_subject(self, source: str, simple: str) -> list[str] | None:
        """[the question, the same question about the other thing] for "c'était quand la table ronde
        de juin 2013, et l'audition informelle avec les ONG ?": a comma, "et", then a short phrase
        that asks nothing of its own and ends the message; the first question's cue asks about it."""
        match = _OTHER_SUBJECT.search(simple)
        if match is None:
            return None
        folded_left, folded_right = fold(simple[: match.start()]), fold(match.group(1))
        rule = self.question_type(folded_left)
        if rule is None or self._asks(folded_right) or self.has_pointer(folded_right):
            return None
        patterns = next(patterns for kind, patterns in self._type_patterns if kind is rule)
        cue = next((m for p in patterns if (m := p.search(folded_left))), None)
        if cue is None or not set(folded_right.split()) - set(folded_left.split()):
            return None
        return [source[: match.start()], f"{source[match.start(1) : match.end(1)].rstrip()}, {cue.group(0)} ?"]

    def _another_of_its_kind(self, folded_left: str, folded_right: str) -> tuple[re.Match[str], re.Match[str]] | None:
        """The year (or ordinal) each side names, when both name one of the same kind and not the same one."""
        for pattern in self._elliptic_patterns:
            said, other = pattern.search(folded_left), pattern.search(folded_right)
            if said and other and said.group(0) != other.group(0):
                return said, other
        return None

    @cached_property
    def _clause_patterns(self) -> dict[str, list[re.Pattern[str]]]:
        """The patterns of each list that sets words of a question aside, compiled once."""
        names = ("not_question_words", "still_asks", "leading_clauses", "leading_context", "asks_nothing")
        return {name: [re.compile(p) for p in getattr(self, name)] for name in names}

    def main_clause(self, folded: str) -> str:
        """The folded question without the context set before it ("dans son discours au Conseil,
        comment le DG ... ?" -> "comment le DG ... ?"); the question itself when nothing is left
        after it. Not a clause ("quand elle est bien gérée, ..."): its words are the point."""
        for pattern in self._clause_patterns["leading_context"]:
            match = pattern.match(folded)
            if match is not None and folded[match.end() :].strip(" ?"):
                return folded[match.end() :]
        return folded

    def question_type(self, folded: str) -> QuestionTypeRule | None:
        """The question type the folded text asks, its conjunctions and relatives set aside.

        Why: "comment l'OIM réagit vite quand il y a une urgence ?" asks how, not when; "quand"
        there joins two clauses. When nothing asks once they are blanked, they did ask. A clause
        before the question ("quand un migrant demande à rentrer, ...") never asks."""
        for pattern in self._clause_patterns["leading_clauses"]:
            folded = pattern.sub(" ", folded)
        blanked = folded
        for pattern in self._clause_patterns["not_question_words"]:
            blanked = pattern.sub(" ", blanked)
        if blanked != folded:
            kept = self._first_type(blanked)
            if kept is not None or any(p.search(folded) for p in self._clause_patterns["still_asks"]):
                return kept
        return self._first_type(folded)

    def _first_type(self, folded: str) -> QuestionTypeRule | None:
        """The first question type whose cue is in the folded text."""
        for rule, patterns in self._type_patterns:
            if any(p.search(folded) for p in patterns):
                return rule
        return None

    def without_what_asks_nothing(self, folded: str) -> str:
        """The folded question with what asks nothing blanked ("qui peut l'aider ?" asks no one's
        name: the programme for the case told answers; "ma famille qui est restée" asks no "qui")."""
        for pattern in self._clause_patterns["asks_nothing"]:
            folded = pattern.sub(" ", folded)
        return folded

    def aspect(self, folded: str, qtype: QuestionTypeRule | None = None) -> tuple[AspectRule, re.Pattern[str]] | None:
        """The aspect asked about, with the pattern a page sentence must match to answer it."""
        for rule, patterns, evidence in self._aspect_patterns:
            if qtype is not None and qtype.name in rule.not_with_types:
                continue
            if any(p.search(folded) for p in patterns):
                return rule, evidence
        return None

    def without_cues(self, folded: str) -> str:
        """The folded text with every question, aspect and pointer cue blanked out.

        What is left are the words the question brings of its own (a topic, a country, a year).
        """
        for pattern in self._all_cue_patterns:
            folded = pattern.sub(" ", folded)
        return folded

    @cached_property
    def _all_cue_patterns(self) -> list[re.Pattern[str]]:
        patterns = [p for _, ps in self._type_patterns for p in ps]
        patterns += [p for _, ps, _ in self._aspect_patterns for p in ps]
        return patterns + self._pointer_patterns

    @cached_property
    def _cue_patterns(self) -> dict[str, list[re.Pattern[str]]]:
        """Each list of patterns read whole, compiled once."""
        lists = (
            "contact_cues", "whom_to_contact_cues", "contact_means_cues", "person_cues", "not_understood",
            "definition_cues", "whether_cues", "relative_times", "year_after", "year_before", "user_place",
        )  # fmt: skip
        return {name: [re.compile(c) for c in getattr(self, name)] for name in lists}

    def _says(self, cues: str, folded: str) -> bool:
        return any(p.search(folded) for p in self._cue_patterns[cues])

    @cached_property
    def _set_aside_pattern(self) -> re.Pattern[str] | None:
        return re.compile("|".join(f"(?:{p})" for p in self.set_aside)) if self.set_aside else None

    def without_set_aside(self, text: str) -> tuple[str, str]:
        """The question without what it sets aside, and that part ("à part la réinstallation,
        l'OIM veille à quoi ?" asks about everything but the resettlement)."""
        simple = strip_accents(fold_apostrophes(text)).lower()
        match = self._set_aside_pattern.search(simple) if self._set_aside_pattern else None
        if match is None or len(simple) != len(text):
            return text, ""
        kept = f"{text[: match.start()]} {text[match.end() :]}".strip(" ,")
        return (kept, text[match.start() : match.end()]) if kept.strip(" ?,.") else (text, "")

    def asks_definition(self, folded: str) -> bool:
        """Whether a (folded) question asks what something is."""
        return self._says("definition_cues", folded)

    def asks_whether(self, folded: str) -> bool:
        """Whether a (folded) message asks whether something is so."""
        return self._says("whether_cues", folded)

    def relative_time(self, folded: str) -> str | None:
        """The words of a (folded) question telling a time from today ("l'an dernier"), if any."""
        for pattern in self._cue_patterns["relative_times"]:
            match = pattern.search(folded)
            if match:
                return match.group(0).strip()
        return None

    def with_year_told(self, text: str, before: Sequence[str]) -> str:
        """The question with "l'année d'après" / "l'année d'avant" written as the year after / before
        the last year of the latest earlier message naming one; as typed when none does."""
        simple = strip_accents(fold_apostrophes(text)).lower()
        source = text if len(simple) == len(text) else simple
        told = next((years for message in reversed(before) if (years := YEAR.findall(message))), None)
        if not told:
            return text
        for cues, step in (("year_after", 1), ("year_before", -1)):
            for pattern in self._cue_patterns[cues]:
                match = pattern.search(simple)
                if match:
                    return f"{source[: match.start()]}en {int(told[-1]) + step}{source[match.end() :]}"
        return text

    @cached_property
    def _courtesy_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self.courtesy]

    def without_courtesy(self, text: str) -> str:
        """The text without the letter formulas around its question (`courtesy`), as long as
        words are left (a message of formulas only is left as typed)."""
        kept = text
        changed = True
        while changed:
            changed = False
            for pattern in self._courtesy_patterns:
                shorter = pattern.sub(" ", kept, count=1).strip(" ,")
                if shorter != kept.strip(" ,") and re.search(r"[^\W\d_]{2,}", shorter):
                    kept, changed = shorter, True
        return re.sub(r"\s{2,}", " ", kept).strip() if kept != text else text

    def where_the_user_is(self, folded: str, place: str) -> bool:
        """Whether every mention of the (folded) place in the folded text says where the user is."""
        found = [m.start() for m in re.finditer(rf"\b{re.escape(place)}\b", folded)]
        return bool(found) and all(self._says("user_place", folded[max(0, at - 60) : at].rstrip()) for at in found)

    def says_not_understood(self, text: str) -> bool:
        """Whether the message says the last answer was not understood."""
        return self._says("not_understood", fold(text))

    def channels_asked(self, text: str) -> list[ContactChannelRule]:
        """The ways to reach a contact the text asks for ("et leur numéro de téléphone ?": phones)."""
        folded = fold(text)
        return [rule for rule in self.contact_channels if any(re.search(p, folded) for p in rule.cues)]

    def asks_contact(self, text: str) -> bool:
        """Whether a question asks for a contact (an e-mail, a phone number...)."""
        return self._says("contact_cues", fold(text))

    def asks_whom_to_contact(self, text: str) -> bool:
        """Whether a question asks whom to write to or call ("elle écrit à qui ?")."""
        return self._says("whom_to_contact_cues", fold(text))

    def asks_contact_means(self, text: str) -> bool:
        """Whether a question asks for an e-mail address, a phone or a fax number ("c'est quoi le mail ?")."""
        return self._says("contact_means_cues", fold(text))

    def asks_for_a_person(self, text: str) -> bool:
        """Whether a message asks to talk to someone ("je veux parler à un conseiller")."""
        return self._says("person_cues", fold(text))

    @cached_property
    def foreign_folded(self) -> dict[str, frozenset[str]]:
        """Per language, the folded words and phrases of its glossary (read on every message)."""
        return {language: frozenset(fold(w) for w in glossary) for language, glossary in self.foreign_words.items()}

    @cached_property
    def _glossaries(self) -> list[tuple[list[tuple[re.Pattern[str], str]], dict[str, str]]]:
        """Per language: its phrases (as patterns) and its single words."""
        return [
            (
                [(re.compile(rf"\b{re.escape(k)}\b"), v) for k, v in glossary.items() if " " in k],
                {k: v for k, v in glossary.items() if " " not in k},
            )
            for glossary in self.foreign_words.values()
        ]

    def from_foreign(self, text: str, known: Callable[[str], bool] = lambda word: True) -> str | None:
        """The French words of a question in English, Spanish or German ("when was IOM founded ?"
        -> "quand OIM créée ?"), read with the glossary that reads the most of its words: phrases,
        then words; figures kept, and names (capitalised as typed) the pages use (`known`); every
        other word dropped ("hello", and "headquarters", which only an English address line of the
        pages holds). What follows the last "?" is left out ("... founded ? merci beaucoup"). None
        when fewer than `foreign_min_words` words are in any glossary."""
        text = text[: text.rindex("?") + 1] if "?" in text else text
        readings = [_read_with(text, phrases, words, known) for phrases, words in self._glossaries]
        found, kept = max(readings, key=lambda reading: reading[0], default=(0, ""))
        return kept if found >= self.foreign_min_words else None

    def has_pointer(self, folded: str) -> bool:
        return any(p.search(folded) for p in self._pointer_patterns)

    def _without_idioms(self, padded: str) -> str:
        for phrase in self.not_situation:
            padded = padded.replace(f" {_as_folded_words(phrase)} ", " ")
        return padded

    def situation(self, current: str, recent: Sequence[str] = ()) -> SituationRule | None:
        """The situation the user tells of: every word group in the current message or the recent
        ones, at least one group in the current one, and the user speaking of themselves; when
        several fit, the one whose words the user used most."""
        now = self._without_idioms(f" {' '.join(folded_words(current))} ")
        told = self._without_idioms(f" {' '.join(folded_words(' '.join([*recent, current])))} ")
        if self.first_person and not any(f" {fold(w)} " in told for w in self.first_person):
            return None

        def has(padded: str, group: list[str]) -> bool:
            return any(_has_word_start(padded, word) for word in group)

        def matched(padded: str, group: list[str]) -> int:
            return sum(1 for word in group if _has_word_start(padded, word))

        best: tuple[int, int, SituationRule] | None = None
        for order, rule in enumerate(self.situations):
            if all(has(told, group) for group in rule.all_of) and any(has(now, g) for g in rule.all_of):
                # The situation told with the most words wins ("a heart disease, must travel by
                # plane to join us": the health one, not the family one); ties go to the file order.
                score = sum(matched(told, group) for group in rule.all_of)
                if best is None or score > best[0]:
                    best = (score, -order, rule)
        return best[2] if best else None

    def split_questions(self, text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
        """The message's questions, in order (one part when it is one question).

        The split points are found on the accent-free lower-case text and cut in the original, so
        the parts keep their accents for the lemmatiser.
        """
        simple = strip_accents(fold_apostrophes(text)).lower()
        source = text if len(simple) == len(text) else simple
        parts: list[str] = []
        start = 0
        marked = [p for p in re.split(r"\?+", source) if p.strip(" ,;.!?")]
        own = self._own_questions(marked, ignore) if len(marked) >= 2 else []
        if own:
            # Questions marked "?" each are split there only: "Le Groupe mondial réunit l'OIM et
            # combien d'entités ? Et le FMMD, il est piloté par qui ?" holds two questions, not three.
            # One question marked, thanks after it ("..., et ça a abouti à quoi ? nanga def"): split
            # as if unmarked.
            return own
        for match in self._split_pattern.finditer(simple):
            # "?" ends a question; " + " joins two searches ("oim 65e anniversaire annee + nb etats membres").
            rest = fold(simple[match.end() :])
            left = fold(simple[start : match.start()])
            if "+" in match.group(0) and "?" in simple and not self._asks(left):
                # "1 mr a perdu ses papiers + plus d argent, l oim aide ds ce cas ?": one question after
                # a story; "aide au mouvement ca englobe quoi + aide medicale pdt le voyage ?": two.
                continue
            marked_end = "?" in match.group(0) or "+" in match.group(0)
            if not marked_end and not self.question_type(rest) and not self._starts_question(rest):
                continue  # "je suis au Yémen et c'est la guerre": a story, not a second question
            if not marked_end and any(p.search(left) for p in self._chained_endings):
                continue  # "comment et quand la migration se produit": question words of one clause
            if not marked_end and _relatives_chained(left, rest):
                continue  # "un Soudanais qui a vécu l'enfer en Libye et qui hésite à rentrer"
            if not marked_end and not self._asks(left) and not self.aspect(left):
                continue  # "Dans son discours au Conseil, comment ...": the frame of the question after it
            parts.append(source[start : match.start()])
            start = match.end()
        parts.append(source[start:])
        parts = [p for p in parts if p.strip(" ,;.!?")]
        if len(parts) == 1:
            parts = self._split_at_and(source, simple)
        elif len(parts) == 2 and not _own_words(parts[1], ignore | self.empty_words):
            # "le titre du deuxième, et le premier s'est tenu en quel mois et quelle année ?": a
            # bare "quelle année" goes with the question before it; the two questions are either
            # side of an earlier "et" when both sides ask one.
            at_and = self._split_at_and(source, simple)
            if len(at_and) == 2 and len(at_and[0]) < len(parts[0]):
                parts = at_and
        return self._own_questions(parts, ignore) or [text]

    def _own_questions(self, parts: list[str], ignore: frozenset[str]) -> list[str]:
        """The parts that are questions of their own, when two or more are (else none)."""
        parts = [p.strip(" ,;.!") for p in parts]
        empty = ignore | self.empty_words
        # A part may be all question words: "..., et il a duré combien de jours ?" asks it about
        # what the part before it named ("retour" is one of spaCy's stop words: "c'est quoi le
        # retour ? et c'est gratuit ?" are two questions all the same).
        parts = [
            p
            for p in parts
            if _own_words(p, empty) >= self.two_questions.min_words or self._asks(fold(p)) or self.aspect(fold(p))
        ]
        return parts if len(parts) >= 2 else []


# A relative "qui" after a noun ("un Soudanais qui a vécu ..."), not one opening the clause ("qui
# dirige l'OIM") nor one after a preposition or a verb ("avec qui", "c'est qui").
_RELATIVE_WHO = re.compile(r"\b(?!(?:a|avec|de|d|pour|par|chez|vers|est|sont|etait|et|ou|c)\b)[a-z]{3,} qui\b")


# ... but "qui" asked of a subject named after it ("et qui l'OIM veut-elle faire participer ?").
_WHO_ASKED_OF_A_SUBJECT = re.compile(r"qui (?:l'|le |la |les |un |une |des |son |sa |ses |leur |leurs |ce |cette |ces |vous |nous |tu |je |j')")
_INVERTED_SUBJECT = re.compile(r"\w-(?:t-)?(?:il|elle|ils|elles|on)\b")


def _relatives_chained(left: str, right: str) -> bool:
    """Whether "et qui ..." (folded `right`) carries on a relative clause of `left` ("un Soudanais qui
    a vécu l'enfer en Libye et qui hésite à rentrer"): one story, not two questions."""
    return (
        right.startswith("qui ") and _RELATIVE_WHO.search(left) is not None
        # Not "et qui l'OIM veut-elle faire participer ?": "qui" asked of a subject named after it.
        and _WHO_ASKED_OF_A_SUBJECT.match(right) is None and _INVERTED_SUBJECT.search(right) is None
    )


# "..., et le deuxième ?", "et en 2013 ?": "et" and at most three words ending the message.
_ELLIPSIS = re.compile(r"[,;]?\s+et\s+((?:\S+\s+){0,2}\S+?)\s*\?*\s*$")


# "..., et pour <the other thing> ?": "et" then the word that introduced the first thing.
_PARALLEL = re.compile(r"[,;]?\s+et\s+(pour|sur|avec|de|du|des|dans|au|aux|en)(?=\s)")


# "..., et l'audition informelle avec les ONG ?": a comma, "et", an article and at most nine words.
_OTHER_SUBJECT = re.compile(
    r",\s*et\s+((?:l'|les\s|la\s|le\s|du\s|des\s|un\s|une\s|son\s|sa\s|ses\s|leurs?\s)(?:[^\s?,;]+\s*){1,9}?)\s*\?*\s*$"
)


def _and_positions(simple: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\s+et\s+", simple)]


def _own_words(text: str, ignore: frozenset[str] | set[str]) -> int:
    return len([w for w in folded_words(text) if len(w) > 2 and w not in ignore])


def _has_word_start(padded: str, word: str) -> bool:
    """Whether a word (or several words) starts a word of the padded text of folded words; the
    word is split as the text was ("pays d'origine", "là-bas": "pays d origine", "la bas")."""
    return f" {_as_folded_words(word)}" in padded


@lru_cache(maxsize=4096)
def _as_folded_words(word: str) -> str:
    return " ".join(folded_words(word))


@dataclass(frozen=True)
class QuestionAnalysis:
    """What one question asks."""

    text: str
    folded: str
    qtype: QuestionTypeRule | None  # count, date, place, who, why, how, list, list_countries
    evidence: str  # what a sentence must show to answer the type (see EVIDENCE_KINDS)
    aspect: AspectRule | None
    aspect_evidence: re.Pattern[str] | None
    pointer: bool  # refers back ("et", "ça", "ils", "c'est ...")
    rest: str  # the folded text without its cue words: what the question brings of its own


def analyse(rules: AnsweringRules, text: str) -> QuestionAnalysis:
    """Type, aspect and follow-up markers of one question."""
    folded = fold(text)
    asking = rules.without_what_asks_nothing(folded)
    qtype = _type_of_question_sentences(rules, text) or rules.question_type(asking)
    aspect = rules.aspect(asking, qtype)
    return QuestionAnalysis(
        text=text,
        folded=folded,
        qtype=qtype,
        evidence=qtype.evidence if qtype else "none",
        aspect=aspect[0] if aspect else None,
        aspect_evidence=aspect[1] if aspect else None,
        pointer=rules.has_pointer(folded),
        rest=rules.without_cues(folded),
    )


def _type_of_question_sentences(rules: AnsweringRules, text: str) -> QuestionTypeRule | None:
    """The type its sentences ending with "?" ask, when a sentence told before them does not: the
    story's words are no cue ("le DG a parlé des pays qui manquent de structures d'accueil. Il a
    cité quels cas ?" asks a list, its relative "qui" asks no one)."""
    told = sentences(text)
    asked = [s for s in told if s.endswith("?")]
    if not asked or len(asked) == len(told):
        return None
    return rules.question_type(rules.without_what_asks_nothing(fold(" ".join(asked))))


_ORDINALS = (
    (re.compile(r"\b(?:1er|1ere|1ère|1re|(?:n°|no|num(?:é|e)ro)\s?(?:1|un))\b", re.IGNORECASE), "premier"),
    (re.compile(r"\b(?:1ers|1eres|1ères|1res)\b", re.IGNORECASE), "premiers"),  # "les 3 1ers pays"
    (re.compile(r"\b(?:2e|2eme|2ème|2nd|2nde|2d|(?:n°|no|num(?:é|e)ro)\s?(?:2|deux))\b", re.IGNORECASE), "deuxième"),
    (re.compile(r"\b(?:3e|3eme|3ème|(?:n°|no|num(?:é|e)ro)\s?(?:3|trois))\b", re.IGNORECASE), "troisième"),
    # "et le second quand ?": the pages say "Deuxième Dialogue" (but "la Seconde Guerre mondiale").
    (re.compile(r"(?<=\b(?:le|du|au) )second\b|(?<=\bla )seconde\b(?! guerre)", re.IGNORECASE), "deuxième"),
)


def spell_ordinals(text: str) -> str:
    """ "2eme dialogue" -> "deuxième dialogue": the pages spell ordinals out."""
    for pattern, word in _ORDINALS:
        text = pattern.sub(word, text)
    return text


# Number words that make up a year or a large number written out ("deux mille seize").
_NUMBER_VALUES = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
    "seize": 16, "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
    "soixante": 60, "cent": 100, "cents": 100, "mille": 1000, "et": 0,
}  # fmt: skip
_NUMBER_WORD = "(?:" + "|".join(sorted(_NUMBER_VALUES, key=len, reverse=True)) + ")"
_NUMBER_RUN = re.compile(rf"\b{_NUMBER_WORD}(?:[\s-]+{_NUMBER_WORD})+\b", re.IGNORECASE)


def spell_numbers(text: str) -> str:
    """ "en deux mille seize" -> "en 2016", "mille neuf cent cinquante et un" -> "1951": the pages
    write years and large numbers in digits. Only runs holding "cent" or "mille" ("sept" alone is
    read as 7 by the search already; "vingt et un" is left as typed)."""

    def value(match: re.Match[str]) -> str:
        # "deux mille treize et deux mille six": two numbers ("cinquante et un": one).
        pieces = re.split(r"\s+et\s+(?=[\w-]*(?:\s+[\w-]+)*?\s*\b(?:cents?|mille)\b)", match.group(0))
        return " et ".join(_written_number(piece) for piece in pieces)

    return _NUMBER_RUN.sub(value, text)


def _written_number(text: str) -> str:
    """The digits of one number written out, when it holds "cent" or "mille"; else the text."""
    words = re.split(r"[\s-]+", text.strip().lower())
    if not {"cent", "cents", "mille"} & set(words) or words[0] == "et" or words[-1] == "et":
        return text
    total = current = 0
    for word in words:
        number = _NUMBER_VALUES[word]
        if word == "mille":
            total, current = total + (current or 1) * 1000, 0
        elif word in ("cent", "cents"):
            current = (current or 1) * 100
        elif word in ("vingt", "vingts") and 2 <= current % 100 <= 9:
            current = current - current % 100 + (current % 100) * 20  # quatre-vingt
        else:
            current += number
    return str(total + current)


def _read_with(
    text: str, phrases: list[tuple[re.Pattern[str], str]], words: dict[str, str], known: Callable[[str], bool]
) -> tuple[int, str]:
    """(how many glossary words and phrases the text holds, the French words kept in order)."""
    names = {w.lower() for w in re.findall(r"\b[A-Z][\w'-]+", text)}
    lowered, found = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", r"\1e", text.lower()), 0  # "110th": "110e"
    translated: set[str] = set()  # the French words phrases became ("which day": "quel", "jour")
    for pattern, french in phrases:
        lowered, n = pattern.subn(f" {french} ", lowered)
        if n:
            found += n
            translated.update(french.split())
    kept: list[str] = []
    for token in re.findall(r"[\w'-]+|\?", lowered):
        bare = re.sub(r"^[ld]'", "", token)  # "l'oim" in a mixed message
        if token in translated:
            kept.append(token)
        elif token in words or bare in words:
            kept.append(words.get(token) or words[bare])
            found += 1
        elif token == "?" or any(c.isdigit() for c in token) or (token in names and known(token)):
            kept.append(token)
        elif not token.isascii() and known(token):
            kept.append(token)  # a French word of the pages in a mixed message ("where is le siège ?")
    return found, " ".join(kept)
