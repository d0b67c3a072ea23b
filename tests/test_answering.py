"""Answering the question that was asked, on the real knowledge files and domain texts (no server).

Covers what runs inside one message: cleaning what users type (bot/knowledge/user_text.py), safety triage
(bot/knowledge/safety.py, data/knowledge/safety.yml), reading the question (bot/knowledge/question_analysis.py,
data/knowledge/answering.yml), ranking page sentences (bot/knowledge/sentence_search.py), composing the
reply (actions/focused.py) and the Rasa actions and NLU components that wire them in
(actions/actions.py, bot/nlu/guards.py), plus the REST request checks (bot/serving/rest_channel.py) and
the QA judge (bot/maintenance/qa_set.py).

The knowledge base is the action server's own (bot.knowledge.store.current_knowledge): the
sentence index is built once per process for one knowledge base (~10 s, spaCy), and the Rasa
actions tested here answer from that same one.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as actions_module
from actions import focused
from actions.actions import (
    ActionAnswerQuestion,
    ActionHumanHandoff,
    ActionOutOfScope,
    ActionSafetyTriage,
    ActionSearchFallback,
    ActionSmallTalk,
)
from actions.answers import Reply, Turn
from actions.answers import answer_contact as answer_contact_cards
from actions.texts import response_text
from bot.knowledge import paths
from bot.knowledge.knowledge_base import KnowledgeBase, KnowledgeError
from bot.knowledge.question_analysis import analyse, spell_ordinals
from bot.knowledge.safety import SafetyRules
from bot.knowledge.search import stop_words
from bot.knowledge.sentence_search import (
    SentenceIndex,
    sentence_index,
    sounds_like,
    split_sentences,
    text_shows,
)
from bot.knowledge.store import current_knowledge
from bot.knowledge.textnorm import digits_only, fold
from bot.knowledge.user_text import FOCUS_CHARS, LONG_MESSAGE_CHARS, clean_user_text, focus, has_words
from bot.knowledge.yamlio import load_yaml
from bot.maintenance.qa_set import QAItem, QAOutcome, category_table, judge, scores_by_category
from bot.nlu.guards import FULL_TEXT, URGENT_INTENT, InputCleaner, SafetyGuard
from bot.serving.rest_channel import BadRequest, PoliteReply, parse_request

DOMAIN: dict[str, Any] = yaml.safe_load((paths.repo_root() / "domain.yml").read_text(encoding="utf-8"))
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+?\s?\d[\d\s.()-]{6,}\d")
# Any run of two digits or more: even a short emergency number (15, 17, 112, 911) would be invented,
# the pages give none.
NUMBER_RUN = re.compile(r"\d[\d\s.()-]*\d")

# Every reply a user would read in this module, checked at the end for invented contacts.
REPLIES: list[str] = []

# A story told before the question: ~2,600 characters, as a user on a phone writes it. Only its
# first sentence says where the user is; the others hold no question word (bot/knowledge/user_text.py).
STORY_OPENING = "Je suis en Libye depuis trois ans."
STORY_SENTENCES = [
    "Je suis parti de mon village avec mon cousin.",
    "Nous avons traversé le désert pendant des semaines, dans un camion plein de monde.",
    "Nous avons travaillé sur des chantiers pendant longtemps.",
    "Mon cousin est reparti l'année dernière et je suis resté dans une petite chambre.",
    "Ma famille me demande de rentrer depuis plusieurs mois.",
    "Je n'ai plus beaucoup d'argent et mes économies ont servi à payer le loyer.",
]
STORY_QUESTION = "Comment faire pour rentrer chez moi au Mali ?"


def long_story(question: str = STORY_QUESTION, opening: str = STORY_OPENING) -> str:
    body = " ".join(STORY_SENTENCES)
    text = opening
    while len(text) + len(question) < 2600:
        text = f"{text} {body}"
    return f"{text} {question}"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return current_knowledge()


@pytest.fixture(scope="module")
def index(kb: KnowledgeBase) -> SentenceIndex:
    return sentence_index(kb)


@pytest.fixture(scope="module")
def pages_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(paths.pages_dir().glob("*.txt")))


def render(reply: Reply) -> str:
    """The texts a user would read, filled as Rasa fills the domain's templates."""
    texts = []
    for message in reply.messages:
        variables = dict(message)
        texts.append(response_text(DOMAIN, variables.pop("response"), **variables))
    text = "\n".join(texts)
    REPLIES.append(text)
    return text


def responses(reply: Reply) -> list[str]:
    return [m["response"] for m in reply.messages]


def respond(kb: KnowledgeBase, index: SentenceIndex, mode: str = "intent", **fields: Any) -> tuple[Reply, str]:
    """focused.respond on a Turn whose recent messages end with this one, as the tracker gives."""
    fields.setdefault("said", (*fields.pop("before", ()), fields["text"]))
    reply = focused.respond(kb, Turn(**fields), DOMAIN, mode)
    return reply, render(reply)


# --- What users type (bot/knowledge/user_text.py) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cleaned"),
    [
        ("bonjour\x07", "bonjour"),
        ("<b>bonjour</b>", "bonjour"),
        ("<script>alert(1)</script>c'est quoi l'OIM ?", "c'est quoi l'OIM ?"),  # code is no user text
        ("<b>bonjour</b><STYLE>b{color:red}</STYLE> ok", "bonjour ok"),
        ("a <script> b", "a b"),  # an element never closed: only its tag goes
        ("  c'est   quoi\u200b\tl'OIM ?  ", "c'est quoi l'OIM ?"),
        ("ligne 1\n\n\n  ligne 2  ", "ligne 1\nligne 2"),
        ("j'ai 3 < 5 enfants", "j'ai 3 < 5 enfants"),  # not a tag: kept
        ("\x00\x1b\u200e", ""),
        ("bonjourrrrr l'oim existe depuiiiis quand ???", "bonjour l'oim existe depuis quand ?"),
        # laughter around a question is out; laughter alone is the message
        ("c t en quelle année mdrrr", "c t en quelle année"), ("hahaha c quoi l oim", "c quoi l oim"), ("lol ?", "lol ?"),
        ("l'oim c'est quoi???!!!??? ça existe depuis quand?!?!?!", "l'oim c'est quoi ? ça existe depuis quand ?"),
        # a symbol typed three times is decoration: "###test###" was read as the pages' hashtag
        ("###test### ;;; >>> c vrai que la traite ??? <<<", "test c vrai que la traite ?"),
        ("~~~ slt ~~~ --- ok ---", "slt ok"),
        ("@@## qui sont les observateurs ;;; ?? ///", "qui sont les observateurs ?"),  # mixed symbols, two of them
        ("$$## ~~ c'était quand ##$$", "c'était quand"),
        ("https://www.iom.int", "https://www.iom.int"),  # an address keeps its "://"
        ("#formigration c quoi ? a -> b", "#formigration c quoi ? a -> b"),  # a hashtag and an arrow stay
        ("super !!! merci", "super ! merci"),
        ("terre, www.iom.int", "terre, www.iom.int"),  # two letters are French; "www" is an address
    ],
)
def test_clean_user_text(typed: str, cleaned: str) -> None:
    assert clean_user_text(typed) == cleaned


def test_clean_user_text_repairs_lone_surrogates() -> None:
    cleaned = clean_user_text("ok\ud800")
    cleaned.encode("utf-8")  # storable: no lone surrogate left
    assert cleaned.startswith("ok")


@pytest.mark.parametrize(("text", "expected"), [("?", False), ("...", False), ("🙂 !", False), ("", False),
                                                ("a", True), ("3", True), ("é ?", True), ("ok", True),
                                                ("zzzzzz", False), ("HHHH hhh !", False), ("aaah bon", True)])
def test_has_words(text: str, expected: bool) -> None:
    assert has_words(text) is expected


def test_a_long_story_is_read_from_its_question() -> None:
    story = long_story()
    assert 2600 <= len(story) <= 3100
    focused_text = focus(story)
    assert len(focused_text) <= FOCUS_CHARS
    assert focused_text == STORY_QUESTION


def test_a_long_message_without_question_keeps_its_last_sentences() -> None:
    story = long_story(question="Merci de m'avoir lu.")
    focused_text = focus(story)
    assert 0 < len(focused_text) <= FOCUS_CHARS
    assert focused_text.endswith("Merci de m'avoir lu.")


def test_a_question_announced_after_a_story_is_read_alone() -> None:
    story = ("bonjour mon frere moi ca va pas trop jai marché longtemps et mon telephone a plus de batterie, "
             "mon cousin il ma dit que vous etes une grande organisation, bref ")
    assert focus(story + "je voulais savoir l'oim elle est dans combien de pays ?") == "l'oim elle est dans combien de pays ?"
    assert focus(story + "ma question c'est : ça dure combien de temps ?") == "ça dure combien de temps ?"
    # An announcement closing the message asks nothing: the question before it is kept.
    closing = story + "les gens ont des infos sur le pays où ils vont ou pas ?? mon pote savait rien mdr bref voilà"
    assert "des infos sur le pays" in focus(closing)
    # Announced at once, there is no story to leave out.
    assert focus("bref je voulais savoir l'oim elle est dans combien de pays ?").startswith("bref je voulais")


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("La dame demande pourquoi l'OIM a été créée au départ", "pourquoi l'OIM a été créée au départ ?"),
        ("Mon client veut savoir si l'OIM a aidé pendant le tsunami", "est-ce que l'OIM a aidé pendant le tsunami ?"),
        ("slt mon client dmd pk le DG a parlé des mineurs ?", "pk le DG a parlé des mineurs ?"),
        ("La personne que je traduis demande selon l'OIM qu'est-ce qui détermine la migration ?",
         "selon l'OIM qu'est-ce qui détermine la migration ?"),
        # What the asker is may be the point: a place or nationality is kept.
        ("Un monsieur originaire du Kosovo me demande en quelle année l'OIM est intervenue chez lui",
         "originaire du Kosovo en quelle année l'OIM est intervenue chez lui ?"),
        # After a story: the question after "il me demande :".
        ("bon alors voila, je suis avec mon client depuis 2h a la pref, on attend, on attend, il a lu des trucs "
         "sur internet et il me pose plein de questions, alors la il me demande: la résolution de l'ONU elle porte sur quoi ?",
         "la résolution de l'ONU elle porte sur quoi ?"),
        # A relative in SMS spelling; "d'où"; "ce que" kept as a question.
        ("mn oncle dmd l'oim a aidé ds cb de pays en 2021", "l'oim a aidé ds cb de pays en 2021 ?"),
        ("mon père demande d'où partent les retours humanitaires volontaires",
         "d'où partent les retours humanitaires volontaires ?"),
        ("ma nièce demande ce que veut dire FMMD", "qu'est-ce que veut dire FMMD ?"),
    ],
)
def test_a_relayed_question_is_read_without_who_relays_it(text: str, question: str) -> None:
    assert focus(text) == question


@pytest.mark.parametrize(
    "text",
    [
        "Une fois la demande de retour volontaire faite, il faut attendre combien de temps ?",
        "Le Conseil de l'OIM a accepté la demande d'adhésion de quel pays ?",
        "Les migrants qui demandent le retour humanitaire volontaire, ils vivent dans quelles conditions ?",
        "mon frère a été enlevé, ils demandent 3000 dollars de rançon sinon ils le tuent",
        "Mon client a fait une demande de réinstallation au Canada, il demande combien de temps il faut attendre",
    ],
)
def test_demande_as_a_noun_or_with_an_object_relays_nothing(text: str) -> None:
    assert focus(text) == text


def test_a_short_message_is_left_as_it_is() -> None:
    text = "je suis en Libye. comment rentrer ?"
    assert len(text) <= LONG_MESSAGE_CHARS
    assert focus(text) == text


# --- Safety triage (bot/knowledge/safety.py, data/knowledge/safety.yml) -------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("je n'en peux plus", "distress"),
        ("jen peu plus", "distress"),
        ("je veux mourir", "suicide"),
        ("Je pense à me suicider", "suicide"),
        ("mon patron a confisqué mon passeport", "trafficking"),
        ("on m'a vendue à un réseau", "trafficking"),
        ("ma petite soeur a été vendue à un réseau, ils la gardent et demandent de l'argent", "trafficking"),
        ("mon fils de 12 ans est seul à la frontière", "minor"),
        ("ma fille de 15 ans est seule à la frontière", "minor"),
        ("mon ami saigne beaucoup", "medical"),
        ("mon pote respire presk plu on vient d arriver du bateau sur la plage vite", "medical"),  # SMS "presque"
        ("on me menace de mort", "danger"),
        ("jai peur on va me tuer si je rentre", "danger"),  # not suicide: someone else's threat
        ("des gens me suivent et me menacent avec un couteau", "danger"),
        ("on est sur un bateau qui coule", "danger"),
        ("on est sur un bateau en mer le moteur est cassé il y a des enfants l'eau rentre", "danger"),
        ("le moteur est en panne on est au large depuis hier", "danger"),
        ("on est perdus en mer", "danger"),
        ("je suis perdu dans le desert avec des gens on a plus d'eau", "danger"),
        ("jsuis enceinte on est dans le desert sans eau le chauffeur nous a abandonné", "danger"),
        ("le passeur nous a lâchés au milieu de nulle part", "danger"),
        ("mon passeport est chez mon patron et il me paye pas", "trafficking"),
        ("le patron me force à coucher avec ses clients", "trafficking"),
        ("ils nous obligent a nous prostituer", "trafficking"),
        ("les passeurs retiennent nos papiers depuis un mois", "trafficking"),
        ("je n'ai plus de raison de continuer à vivre", "suicide"),
        ("ma demande d'asile est refusée, j'ai plus rien, plus personne, je vois plus à quoi ça sert de continuer à vivre",
         "suicide"),
        ("à quoi bon vivre comme ça", "suicide"),
        ("j'ai plus rien et plus personne ici", "distress"),
        ("je vois plus de sortie. ça fait 2 ans que je suis bloqué ici, rien ne marche", "distress"),
        ("je veux que tout s'arrête, je suis fatiguée de vivre comme ça", "suicide"),
        ("on m'a refusé les papiers, je prefere mourir que rentrer au pays", "suicide"),
        ("ils nous enferment a clé dans la maison, on peut pas sortir", "danger"),
        ("jai perdu mon fils de 10 ans dans la foule au port ce matin", "minor"),
        ("mon ami il est tombé par terre il repond plus, il respire à peine, on fait quoi ???", "medical"),
        ("le passeur dit que si on paye pas le reste il va faire du mal à ma famille au pays", "danger"),
        ("mon pote dit qu'il veut en finir, il a écrit une lettre d'adieu", "suicide"),
        ("g plu envi de rien, plu de famille plu d'argent, à quoi bon continuer", "distress"),
        ("ce soir j'ai envie de m'endormir et de ne plus jamais me réveiller", "suicide"),
        ("j'ai acheté plein de cachets à la pharmacie, je vais tous les avaler ce soir", "suicide"),
        ("ya plu aucun espoir pr moi ici, jveu juste disparaitre pour de bon", "suicide"),
        ("je me coupe les bras la nuit avec une lame", "suicide"),
        ("les gardes nous frappent chaque jour avec des barres de fer", "danger"),
        ("il dit qu'il me tue si je parle", "danger"),
        ("ça tire partout dans notre quartier, on est cachés dans la cave avec les enfants", "danger"),
        ("SOS vite svp", "danger"),
        ("j'ai donné mon telephone et mes chaussures a Moussa, demain j'en aurai plus besoin", "suicide"),
        ("j'ai acheté une corde au marché ce matin. ici je vaux plus rien pour personne", "suicide"),
        ("demain matin je vais marcher sur les rails a l'heure du train de 6h", "suicide"),
        ("mon ami s est ouvert la cuisse sur les barbelés, le sang gicle", "medical"),
        ("mon fils de 3 ans a bu le produit pour nettoyer les toilettes, j'arrive pas a le reveiller", "medical"),
        ("ma soeur a perdu les eaux dans la foret, le bebe sort pas", "medical"),
        ("mon mari m'a serré le cou ce soir jusqu'a ce que tout devienne noir", "danger"),
        ("ils veulent 3000 dollars avant vendredi sinon ils disent qu'on le reverra plus", "danger"),
        ("ma fille de 15 ans n'est pas rentrée depuis samedi, son telephone est coupé", "minor"),
        ("ca fait 5 jours qu on a rien mangé moi et mes deux garcons", "distress"),
        ("hier dans le centre de rétention deux gardes sont entrés dans la douche et m'ont violée", "danger"),
        ("le chef dit pas d'hôpital sinon pas de salaire, et il garde tous nos passeports dans son bureau", "trafficking"),
        ("jai faim et froid on dort dehors avec les enfants", "distress"),
        ("je suis enceinte et j'ai des douleurs très fortes", "medical"),
        ("AU SECOURS", "danger"),
        # SMS spelling is written out first (answering.yml sms_spellings), typos kept in the patterns.
        ("o secour", "danger"),
        ("chui en danger", "danger"),
        ("jen peu plu", "distress"),
        ("j'ai plus la force de continuer", "distress"),
        ("on m'a enfermé dans une maison à tripoli", "trafficking"),
        ("des hommes armés sont devant chez nous", "danger"),
        ("jvois plus pourquoi vivre, mieux vaut que jen finisse ce soir", "suicide"),
        ("je ne veux plus vivre", "suicide"),
        ("ma vie n'a plus de sens", "suicide"),
        ("il y a un petit garçon tout seul à la gare, il a 10 ans", "minor"),
        ("ya un petit de 10 ans tout seul a la gare routiere il parle pas la langue", "minor"),
        ("une gamine de 12 ans seule dans la rue", "minor"),
        ("je veux partir pour toujours, personne ne me regrettera", "suicide"),
        ("je vais partir pour de bon ce soir", "suicide"),
        # other words for the same thoughts (probed after a blind miss)
        ("je songe à en finir", "suicide"),
        ("jpense a men finir", "suicide"),
        ("je veux plus me réveiller le matin", "suicide"),
        ("parfois je me dis que ce serait mieux si j'étais mort", "suicide"),
        ("mon ami parle de se jeter à la mer", "suicide"),
        ("je vais me jeter sous un train", "suicide"),
        ("j'ai avalé des médicaments", "suicide"),
        ("je n'ai plus d'espoir", "distress"),
        ("j'ai envie de tout arrêter, je suis fatigué de tout", "distress"),
        ("mon bébé a de la fièvre très forte et ne respire pas bien", "medical"),
        ("ça fait trois ans que je suis bloqué ici, ma famille ne me répond plus, je pense sérieusement à en finir", "suicide"),
        # the elided "d'" (before: only the classifier caught it); a rope hung up
        ("j'ai envie d'en finir, je suis bloqué ici depuis un an", "suicide"),
        ("jai envie den finir avec tout ça", "suicide"),
        ("ce soir j'ai accroché une corde au plafond", "suicide"),
        ("un homme me propose du travail en Europe mais il veut garder mes papiers, c'est normal ?", "trafficking"),
        # In English too: the French reply still urges help and offers a person ("ask in French" would not).
        ("help me please I am in danger", "danger"),
        ("they took my passport and I work without pay", "trafficking"),
        ("I want to kill myself", "suicide"),
        ("my son is very sick", "medical"),
        ("the boy is alone at the station", "minor"),
        # a relative threatened with being sold, money demanded with a threat
        ("le passeur veut encore 2000 euros sinon il dit qu'il vend ma soeur, elle a 15 ans", "trafficking"),
        ("ils vont nous vendre aux milices", "trafficking"),
        ("il demande 500 dinars sinon on ne sortira pas", "danger"),
        # a relative missing on the way; a girl gone with a man who promised her a job
        ("Mon cousin est parti traverser le Sahara, depuis plus aucune nouvelle, son téléphone ne sonne même plus", "danger"),
        ("ma fille de 15 ans est partie avec un homme qui lui avait promis un travail en Europe", "trafficking"),
        # a journey to pay back by work; a threat in the future tense
        ("le passeur dit qu'on doit rembourser le voyage en travaillant la nuit dans un bar", "trafficking"),
        ("il veut encore de l'argent, sinon il fera du mal à ma famille au pays", "danger"),
        # a jump threatened from a height, told by a hotline worker
        ("urgent : un homme au téléphone dit qu'il est sur un pont et qu'il va sauter", "suicide"),
        ("elle menace de se jeter par la fenêtre", "suicide"),
        # giving up on everything, said after "je n'en peux plus"
        ("personne m'aide, je veux tout arrêter", "distress"),
        # violence told of a relative
        ("mon frère est enfermé dans un centre de détention en Libye, ils les frappent, ils mangent pas", "danger"),
        ("mon cousin se fait tabasser par les gardiens tous les soirs", "danger"),
    ],
)
def test_safety_triggers(kb: KnowledgeBase, text: str, category: str) -> None:
    match = kb.safety.match(text)
    assert match is not None, f"{text!r}: no safety category"
    assert match.category == category, match


@pytest.mark.parametrize(
    "text",
    [
        "la lutte contre la traite c'est quoi ?",
        "les évacuations c'est pour les gens qui subissent des violences ?",
        "j'ai vendu ma moto pour payer le voyage",
        "combien d'enfants l'OIM aide ?",
        "c'est quoi l'aide aux migrants bloqués ?",
        "les escortes médicales c'est quoi ?",
        "l'OIM aide les victimes de la traite ?",
        "qu'est-ce que l'OIM fait contre l'esclavage ?",
        "l'OIM aide les mineurs non accompagnés ?",
        "l'OIM aide les migrants enfermés dans des centres de détention ?",
        "je suis enfermé dans un centre de détention en libye, je veux juste rentrer dans mon pays",
        "les évacuations face aux groupes armés en Libye, ça marche comment ?",
        "je vois pas pourquoi vivre ici plutôt qu'en Europe",
        "pour en finir avec ma question : c'est quoi l'OIM ?",
        "j'ai envie d'en finir avec les démarches, le retour volontaire c'est rapide ?",
        "how does IOM help stranded migrants?",
        "au Yémen l'OIM ramène les migrants en bateau ou en avion ?",
        "les mouvements maritimes en mer c'est pour quels pays ?",
        "je veux rentrer au sénégal en bateau, l'oim peut aider ?",
        "l'OIM aide les migrants bloqués dans le désert ?",
        "mon patron peut garder mon passeport ? c'est légal ?",
        "l'OIM lutte contre la prostitution forcée ?",
        "les agents de l'aéroport gardent-ils les passeports des réfugiés réinstallés ?",
        "l'oim donne à manger aux gens qui ont faim ?",
        "what is voluntary humanitarian return?",
        "je veux vendre ma voiture pour payer le voyage",
        "l'OIM vend des billets d'avion ?",
        "je n'ai pas de nouvelles de ma demande de réinstallation",
        "je dois rembourser le voyage de l'OIM ?",
        "sinon il faut attendre combien de temps ?",
        "ma fille est partie avec une association pour étudier au Canada",
        # leaving for good to another country is no farewell
        "réfugiés au Liban depuis 6 ans, on voudrait partir pour de bon dans un autre pays qui nous accueille",
        "je ne veux pas me réveiller trop tard pour le rendez-vous",
        "les migrants se jettent à la mer pour traverser ?",
        "j'ai pris des médicaments pour le mal de tête, je peux voyager ?",
        "je pense à rentrer au pays",
        "ya un truc pr les mineur ki arrive tt seul sans parent loim en parle",
        "les jeunes de 15 ans seuls, l'OIM les aide ?",  # children of an age in general, not one seen
        "je veux tout arrêter mes démarches de réinstallation, c'est possible ?",  # stopping something named
    ],
)
def test_questions_about_topics_are_not_emergencies(kb: KnowledgeBase, text: str) -> None:
    assert kb.safety.match(text) is None


def test_safety_rules_load_from_the_knowledge_folder() -> None:
    rules = SafetyRules.load(paths.knowledge_dir())
    names = [c.name for c in rules.categories]
    assert names[:1] == ["suicide"] and set(names) >= {"distress", "medical", "trafficking", "minor", "danger"}


def test_every_safety_category_has_a_reply_without_any_number(kb: KnowledgeBase) -> None:
    for category in kb.safety.categories:
        reply = focused.safety_reply(category.name)
        text = render(reply)
        assert responses(reply) == [f"utter_safety_{category.name}", "utter_safety_person"]
        assert NUMBER_RUN.findall(text) == [], f"{category.name}: {text}"
        assert reply.slots == {"urgent": True, "handoff_requested": True}


def test_safety_comes_before_any_answer(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_voluntary_return", text="je veux rentrer mais on me menace de mort")
    assert responses(reply) == ["utter_safety_danger", "utter_safety_person"]
    assert reply.slots["urgent"] is True and reply.slots["handoff_requested"] is True
    assert "Source :" not in text


def test_distress_at_the_start_of_a_long_story_is_not_lost(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """focus() keeps only the question; the safety check reads the whole message."""
    story = long_story(opening=f"Je n'en peux plus de cette vie. {STORY_OPENING}")
    assert "peux plus" not in focus(clean_user_text(story))
    reply, _ = respond(kb, index, intent="ask_voluntary_return", text=story)
    assert responses(reply)[0] == "utter_safety_distress"


# --- Reading the question (bot/knowledge/question_analysis.py, data/knowledge/answering.yml) -----------------


@pytest.mark.parametrize(
    ("text", "main"),
    [
        ("dans son discours au conseil, comment le dg veut qu'on voie les migrants ?", "comment le dg veut qu'on voie les migrants ?"),
        ("selon le pacte mondial, la migration c'est quoi ?", "la migration c'est quoi ?"),
        # a setting that tells something itself is kept, and so is a clause (leading_clauses)
        ("dans l'histoire de l'oim on parle des boat people, c'etait quelle annee ?", None),
        ("quand elle est bien geree, la migration peut etre quoi ?", None),
        ("dans le premier dialogue, et le deuxieme ?", None),
    ],
)
def test_the_setting_before_a_question(kb: KnowledgeBase, text: str, main: str | None) -> None:
    assert kb.answering.main_clause(text) == (main if main is not None else text)


@pytest.mark.parametrize(
    ("text", "qtype"),
    [
        ("combien de tables rondes ?", "count"),
        ("cb d'états membres", "count"),
        ("c'était quand", "date"),
        ("depuis quand l'OIM existe ?", "founding"),
        ("c'est où", "place"),
        ("c'est avec qui ?", "who"),
        ("pourquoi l'OIM a été créée ?", "why"),
        ("comment faire la demande ?", "how"),
        ("quels sont les pays ?", "list_countries"),
        ("c'est quoi l'OIM ?", None),
        # Conjunctions and relatives do not ask (answering.yml, not_question_words).
        ("comment l'OIM réagit aussi vite quand il y a une urgence ?", "how"),
        ("ceux qui partent, ça aide le pays d'origine comment ?", "how"),
        ("quand elle est bien gérée, la migration peut être quoi ?", None),
        ("qu'est-ce qui détermine comment, où et quand la migration se produit ?", None),
        ("quand il y a eu le premier dialogue ?", "date"),
        ("quand elle a été créée l'OIM ?", "founding"),
        ("en quelle année l'OIM a commencé ?", "founding"),
        ("la session a commencé quel jour ?", "date"),
        ("les dates exactes du deuxième dialogue ?", "date"),
        ("c'est quoi le hashtag de l'OIM ?", "hashtag"),
        # A clause before the question asks nothing (answering.yml, leading_clauses).
        ("quand un migrant en Libye demande à rentrer, l'OIM vérifie s'il risque quelque chose ?", None),
        ("quand mon dossier sera prêt, je pars comment ?", "how"),
        ("quand a eu lieu le premier dialogue, et où ?", "date"),
        # "à quel titre" asks in what capacity, not a title (answering.yml, type `title`).
        ("L'UNICEF participe au Dialogue de haut niveau à quel titre ?", None),
        ("le deuxième dialogue avait quel titre ?", "title"),
        ("dialogue haut niveau 2013 c'est quoi le titre", "title"),
        ("le dialogue de 2013, son titre c'est quoi ?", "title"),
        # How many people of the world are migrants: a share ("une personne sur sept"), either order.
        ("combien de personnes dans le monde sont migrantes ?", "proportion"),
        ("combien de personnes sont des migrants dans le monde ?", "proportion"),
        ("c'est vrai que 1 personne sur 7 c'est un migrant ?", "proportion"),
        # How someone or something is seen (type `seen_as`).
        ("Pour l'OIM, les migrants sont des acteurs de quoi ?", "seen_as"),
        ("Pour l'OIM, les migrants sont vus comme quoi au final ?", "seen_as"),
        ("Dans son discours au Conseil, comment le DG veut-il qu'on voie les migrants ?", "seen_as"),
        ("je peux voir un conseiller comment ?", "how"),
        # What someone said, asked with "qu'il" or "comment ... a-t-il décrit" (type `said`).
        ("Vitorino a dit qu'il fallait voir les migrants comme quoi exactement ?", "seen_as"),
        ("il a dit que les migrants devaient être vus comment ?", "seen_as"),
        ("Comment António Vitorino a-t-il décrit le fait de diriger l'OIM ?", "said"),
        ("Qu'a dit António Vitorino dans son discours au Conseil de l'OIM ?", "said"),
        ("comment le DG Vitorino a-t-il dit que les migrants devaient être perçus ?", "seen_as"),
    ],
)
def test_question_types(kb: KnowledgeBase, text: str, qtype: str | None) -> None:
    found = kb.answering.question_type(fold(text))
    assert (found.name if found else None) == qtype
    assert analyse(kb.answering, text).evidence == (found.evidence if found else "none")


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("c'est gratuit ?", "cost"),
        ("il n'a plus rien. Ça lui coûterait combien ?", "cost"),  # a conditional of "coûter"
        ("il faut payer ?", "cost"),
        ("ça prend combien de temps", "duration"),
        ("Sur quoi l'OIM se base pour prioriser ?", "priority"),
        ("ca fait cb de temps", None),  # how long ago: a date, no duration
        ("il y a combien de temps ?", None),
        ("quels papiers faut-il apporter ?", "papers"),
        ("quelles sont les conditions ?", "conditions"),
        ("combien de tables rondes ?", None),
        ("c'est quand la prochaine session du Conseil ?", "next"),  # the pages give past dates only
        ("y a-t-il une date limite pour s'inscrire ?", "deadline"),  # not how to apply
        # What the person tells of their case is not the point they ask about.
        ("j'ai perdu mes papiers et je suis bloqué au Niger, comment rentrer ?", None),
        ("on m'a refusé l'asile, l'OIM peut m'aider à rentrer ?", None),
        ("je vis dans des conditions très dures en Libye, je veux rentrer", None),
        ("il a perdu ses papiers, il peut quand même rentrer ?", "conditions"),
        ("la stratégie est préconisée par quel document de l'OIM ?", None),
        ("j'ai perdu mes papiers a Tripoli, comment rentrer ?", None),
        ("quels documents faut-il apporter ?", "papers"),
        ("les papiers nécessaires pour le retour ?", "papers"),
        ("l'unité répond à quelles heures ?", "hours"),
        ("jusqu'à quelle date on peut déposer un dossier ?", "deadline"),
        ("l'OIM a combien de bureaux en dehors de son siège ?", None),  # a count, not an office's address
        ("ça touche combien de gens par an ?", None),  # people reached, not a salary
        ("il touche combien ?", "salary"),
        ("Combien est payé un agent de terrain de l'OIM par mois ?", "salary"),
        ("c'est payé par qui ?", None),
        ("Combien l'OIM a-t-elle dépensé pour la réinstallation en 2019 ?", "amount"),  # money spent, not people
        # The means told of who is asked about is not the point asked (answering.yml, transport).
        ("En quelle année l'OIM est-elle intervenue pour les réfugiés vietnamiens partis en bateau ?", None),
        ("ils rentrent en avion ?", "transport"),
    ],
)
def test_aspects(kb: KnowledgeBase, text: str, aspect: str | None) -> None:
    analysis = analyse(kb.answering, text)
    assert (analysis.aspect.name if analysis.aspect else None) == aspect
    if aspect is not None:
        assert analysis.aspect_evidence is not None


def test_pointers_and_own_words(kb: KnowledgeBase) -> None:
    rules = kb.answering
    assert rules.has_pointer(fold("c'est avec qui ?"))
    assert rules.has_pointer(fold("et pour le Yémen ?"))
    assert not rules.has_pointer(fold("qui dirige l'OIM ?"))
    rest = rules.without_cues(fold("combien de pays membres ?"))
    assert "combien" not in rest and "pays membres" in rest


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "c'est quand le premier dialogue et il y avait combien de tables rondes ?",
            ["c'est quand le premier dialogue", "il y avait combien de tables rondes"],
        ),
        ("qui dirige l'OIM ? combien d'états membres ?", ["qui dirige l'OIM", "combien d'états membres"]),
        ("je suis au yemen et c'est la guerre, je veux rentrer", None),
        ("qui dirige l'OIM ?", None),
        (
            "le premier dialogue a abouti à quoi, et le groupe mondial a été établi par qui ?",
            ["le premier dialogue a abouti à quoi", "le groupe mondial a été établi par qui ?"],
        ),
        (
            "Le Conseil s'est ouvert quel jour et il a duré combien de jours ?",
            ["Le Conseil s'est ouvert quel jour", "il a duré combien de jours ?"],
        ),
        (
            "En quelle année s'est tenu le premier Dialogue, et le deuxième ?",
            ["En quelle année s'est tenu le premier Dialogue", "En quelle année s'est tenu le deuxième Dialogue"],
        ),
        ("c'est quoi le retour ? et c'est gratuit ?", ["c'est quoi le retour", "et c'est gratuit"]),
        ("quelle est la différence entre la réinstallation et la relocalisation ?", None),
        ("dans l'exemple du professionnel de santé, il quitte quel pays pour aller où ?", None),
        ("quand a eu lieu le dialogue et le forum ?", None),
        ("Dans son discours au Conseil, comment le DG voit-il les migrants ?", None),  # a frame, not a question
        (  # a bare "quelle année" goes with the question before it: the split is at the earlier "et"
            "Comment s'intitulait le deuxième Dialogue, et le premier s'est tenu en quel mois et quelle année ?",
            ["Comment s'intitulait le deuxième Dialogue", "le premier s'est tenu en quel mois et quelle année ?"],
        ),
        (  # "comment et quand": question words chained on one clause, the second question after
            "Qu'est-ce qui détermine comment et quand la migration se produit, et quels outils l'OIM soutient-elle au niveau local ?",
            ["Qu'est-ce qui détermine comment et quand la migration se produit", "quels outils l'OIM soutient-elle au niveau local"],
        ),
        (  # each marked "?": split there only, not at "et combien" inside the first
            "Le Groupe mondial réunit l'OIM et combien d'entités de l'ONU ? Et le FMMD, il est piloté par qui ?",
            ["Le Groupe mondial réunit l'OIM et combien d'entités de l'ONU", "Et le FMMD, il est piloté par qui"],
        ),
        (  # "..., et pour <the other thing> ?": the question asked again about it (two years named)
            "Combien de réfugiés réinstallés pour les États-Unis en 2019, et pour le Canada en 2020 ?",
            ["Combien de réfugiés réinstallés pour les États-Unis en 2019", "Combien de réfugiés réinstallés pour le Canada en 2020 ?"],
        ),
        ("c'est quoi l'aide pour les migrants et pour les réfugiés ?", None),  # one thing asked of both
        (  # "..., et <another thing> ?": the first question's cue asked about it
            "C'était quand la table ronde de New York en juin 2013, et l'audition informelle avec les ONG ?",
            ["C'était quand la table ronde de New York en juin 2013", "l'audition informelle avec les ONG, quand ?"],
        ),
        (  # the other thing told in nine words
            "Quand a eu lieu la table ronde de Genève, et l'audition avec les ONG et le secteur privé ?",
            ["Quand a eu lieu la table ronde de Genève", "l'audition avec les ONG et le secteur privé, quand ?"],
        ),
        ("c'est quand la table ronde, et pourquoi elle a lieu ?", ["c'est quand la table ronde", "pourquoi elle a lieu"]),
        (  # a yes/no question by inversion asks something too
            "Le FMMD est-il contraignant pour les États, et combien d'entités de l'ONU font partie du Groupe mondial ?",
            ["Le FMMD est-il contraignant pour les États", "combien d'entités de l'ONU font partie du Groupe mondial"],
        ),
        (  # "est-ce que" opens a question of its own
            "Le fonds donne une aide de quel type, et est-ce qu'une demande d'asile rejetée compte ?",
            ["Le fonds donne une aide de quel type", "est-ce qu'une demande d'asile rejetée compte"],
        ),
        ("je suis en Libye, et la situation est dure", None),  # no question before "et": a story
        (  # "que" and a verb before its subject opens a question of its own
            "Pourquoi le retour est-il dit « humanitaire », et qu'évalue l'OIM pendant la consultation ?",
            ["Pourquoi le retour est-il dit « humanitaire »", "qu'évalue l'OIM pendant la consultation"],
        ),
        ("je veux savoir si l'OIM aide et que les migrants sont protégés", None),
        # "et qui ..." carrying on a relative clause: one story before the question
        ("J'accompagne un Soudanais qui a vécu l'enfer en Libye et qui hésite à rentrer. Avant un retour humanitaire "
         "volontaire, qu'est-ce que l'OIM lui propose pour l'aider à décider ?", None),
        ("qui dirige l'OIM et qui a parlé au Conseil ?", ["qui dirige l'OIM", "qui a parlé au Conseil"]),
        (
            "Comment s'appelle l'approche de l'OIM qui touche tous les ministères, et qui l'OIM veut-elle faire participer ?",
            ["Comment s'appelle l'approche de l'OIM qui touche tous les ministères", "qui l'OIM veut-elle faire participer"],
        ),
    ],
)
def test_split_questions(kb: KnowledgeBase, text: str, parts: list[str] | None) -> None:
    assert kb.answering.split_questions(text, stop_words()) == (parts or [text])


def test_a_verb_form_of_a_page_word_is_not_an_unknown_point(index: SentenceIndex) -> None:
    """ "veille" (spaCy reads a noun) is a form of the pages' "veiller"; "budget" is unknown to them."""
    assert index.unknown_nouns("l'OIM veille à quoi pour les migrants ?") == []
    assert index.unknown_nouns("quel est le budget de l'OIM ?") == ["budget"]
    # "région": the pages say "autorités locales et régionales" (its adjective)
    assert "région" not in index.unknown_nouns("quels outils à l'échelle d'une commune ou d'une région ?")


@pytest.mark.parametrize(
    ("text", "kept", "aside"),
    [
        ("à part la réinstallation, l'OIM veille à quoi ?", "l'OIM veille à quoi ?", "réinstallation"),
        ("c'est quoi l'aide à part le transport ?", "c'est quoi l'aide ?", "transport"),
        ("à part ça ?", "à part ça ?", ""),  # nothing else asked: kept whole
        ("L'OIM a combien de bureaux en dehors de son siège ?", "L'OIM a combien de bureaux en dehors de son siège ?", ""),
        ("au-delà de ce que les migrants apportent, qu'est-ce qui détermine où ils vont ?",
         "qu'est-ce qui détermine où ils vont ?", "migrants apportent"),
        ("à partir de quand l'OIM existe ?", "à partir de quand l'OIM existe ?", ""),  # "à part" is no word of it
    ],
)
def test_what_a_question_sets_aside(kb: KnowledgeBase, text: str, kept: str, aside: str) -> None:
    question, set_aside = kb.answering.without_set_aside(text)
    assert re.sub(r"\s+", " ", question) == kept
    assert aside in set_aside and bool(set_aside) == bool(aside)


def test_situations_need_the_user_to_speak_of_themselves(kb: KnowledgeBase) -> None:
    rules = kb.answering
    told = rules.situation("je suis bloqué en libye sans passeport, je veux rentrer au mali")
    assert told is not None and told.entry == "programme.voluntary_return"
    # The situation may be told over two messages, the current one naming part of it.
    assert rules.situation("je veux rentrer", ["je suis en libye"]) is not None
    assert rules.situation("les migrants en libye veulent rentrer") is None  # not about themselves
    assert rules.situation("je suis en libye") is None  # no wish to go home said


def test_spell_ordinals() -> None:
    assert spell_ordinals("le 2eme dialogue et le 1er") == "le deuxième dialogue et le premier"
    assert spell_ordinals("la 3e session") == "la troisième session"
    assert spell_ordinals("en 2013") == "en 2013"
    assert spell_ordinals("le pays n°1 et le numéro 2") == "le pays premier et le deuxième"
    assert spell_ordinals("et le second quand ?") == "et le deuxième quand ?"  # the pages say "Deuxième Dialogue"
    assert spell_ordinals("la Seconde Guerre mondiale") == "la Seconde Guerre mondiale"
    assert spell_ordinals("non 1, nombre 1") == "non 1, nombre 1"


def _broken_copy(tmp_path: Path, name: str, change: Any) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(paths.knowledge_dir(), folder)
    data = load_yaml(folder / name)
    change(data)
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("safety.yml", lambda d: d["categories"][0]["patterns"].append("\\bsuicid(\\w*")),
        ("answering.yml", lambda d: d["question_types"][0]["cues"].append("[unclosed")),
        ("answering.yml", lambda d: d["question_types"][0].update(evidence="colour")),
        ("answering.yml", lambda d: d["situations"][0].update(entry="programme.nowhere")),
    ],
    ids=["safety-bad-regex", "answering-bad-regex", "answering-unknown-evidence", "answering-unknown-entry"],
)
def test_a_broken_rules_file_is_refused_as_a_knowledge_error(tmp_path: Path, name: str, change: Any) -> None:
    """A maintainer's typo must be a KnowledgeError naming the file: the action server then keeps
    serving the last good knowledge (bot/knowledge/store.py) instead of failing every answer."""
    folder = _broken_copy(tmp_path, name, change)
    with pytest.raises(KnowledgeError) as raised:
        KnowledgeBase.load(folder)
    assert name in str(raised.value)


def test_a_key_given_twice_is_refused_as_a_knowledge_error(tmp_path: Path) -> None:
    """YAML keeps the last of two equal keys silently: a second `not_with_types:` written under an
    aspect would drop the first list. Loading says so, naming the file and the key."""
    folder = tmp_path / "knowledge"
    shutil.copytree(paths.knowledge_dir(), folder)
    rules = folder / "answering.yml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("  - name: office\n", "  - name: office\n    missing: x\n", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        KnowledgeBase.load(folder)
    assert "answering.yml" in str(raised.value) and "'missing' is given twice" in str(raised.value)


# --- Page sentences (bot/knowledge/sentence_search.py) -------------------------------------------------------


def test_units_are_sentences_items_windows_lists_and_fact_quotes(index: SentenceIndex, pages_text: str) -> None:
    ids = [u.id for u in index.units]
    assert len(ids) == len(set(ids))
    kinds = {
        "fact": [u for u in index.units if "#fact" in u.id],
        "list": [u for u in index.units if u.id.endswith("#list")],
        "window": [u for u in index.units if u.id.endswith("w")],
        "item": [u for u in index.units if u.list_item and not u.id.endswith("#list")],
    }
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    sentences = [u for u in index.units if not u.list_item and "#" in u.id and u.id.split("#")[1].isdigit()]
    assert sentences
    pages = fold(" ".join(pages_text.split()))
    # What a reply quotes is verbatim page text (lists and windows are joined verbatim pieces).
    for unit in [*sentences, *kinds["item"], *kinds["fact"]]:
        assert fold(" ".join(unit.text.split())) in pages, unit.id
    for window in kinds["window"]:
        assert any(window.text.endswith(s.text) for s in index.siblings(window)), window.id


def test_split_sentences_does_not_cut_after_titles_or_tel() -> None:
    assert split_sentences("M. Vitorino a parlé. Tel. +41 22 717 9111 est le numéro.") == [
        "M. Vitorino a parlé.",
        "Tel. +41 22 717 9111 est le numéro.",
    ]


def test_rank_finds_the_sentence_that_answers_a_count(kb: KnowledgeBase, index: SentenceIndex) -> None:
    topic = kb.entry("event.high_level_dialogues")
    best = index.rank("combien de tables rondes au premier dialogue ?", topic, "number", k=3)
    assert "quatre tables rondes" in best[0].unit.text
    assert best[0].in_topic and best[0].shows_type
    assert [r.score for r in best] == sorted((r.score for r in best), reverse=True)


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("ask_iom_identity", "Pour l'OIM, les migrants sont des acteurs de quoi ?", "acteurs de la résilience"),
        ("ask_council_session", "Dans son discours au Conseil, comment le DG veut-il qu'on voie les migrants ?",
         "partenaires déterminés"),
    ],
)
def test_how_someone_is_seen_is_the_sentence_saying_what_they_are(
    kb: KnowledgeBase, index: SentenceIndex, intent: str, text: str, expected: str
) -> None:
    """The section "... habiliter les migrants en tant qu'acteurs du développement" shares the
    question's words; the sentence saying what migrants are answers it."""
    _, reply = respond(kb, index, intent=intent, text=text)
    assert expected in reply


def test_a_text_quoted_as_its_author_stresses_is_a_quote(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Comme le souligne le Pacte mondial ..., « ... »" reports someone's words (type `said`)."""
    _, text = respond(kb, index, intent="ask_migration_development", text=(
        "Quelle citation du Pacte mondial l'OIM reprend-elle pour dire qu'un seul secteur de politique ne suffit pas ?"))
    assert "réalité multidimensionnelle" in text


def test_a_rank_is_no_count_of_what_is_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Les trois premiers pays de réinstallation étaient ... l'Australie" gives no number of refugees
    resettled in Australia: the pages do not say it, and the reply says so first."""
    _, text = respond(kb, index, intent="ask_resettlement", country="Australie", country_said="Australie",
                      text="Combien de réfugiés exactement ont été réinstallés en Australie en 2019 ?")
    assert text.startswith("Les documents que je connais ne précisent pas ce chiffre")
    assert "100 000" not in text and "l'Australie" in text  # then the sentence naming it


def test_tools_are_the_pages_exercises(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """search_words.yml same_meaning: "outils" ~ "exercices" ("des exercices de cartographie communautaire")."""
    _, text = respond(kb, index, "fallback", intent="nlu_fallback",
                      text="Quels outils l'OIM soutient pour mieux connaître les migrants à l'échelle d'une commune ou d'une région ?")
    assert "cartographie communautaire" in text


def test_a_word_of_its_own_is_not_an_sms_elision(kb: KnowledgeBase) -> None:
    """ "lonu" is "l'onu", but "couvre" is no "c'ouvre" nor "légalement" "l'également"."""
    index = sentence_index(kb)
    assert index.respell("le fonds couvre quoi") == "le fonds couvre quoi"
    assert index.respell("légalement") == "légalement"
    assert index.respell("cest quoi dasile") == "c'est quoi d'asile"


def test_a_lookahead_of_a_cue_names_no_cue_word(kb: KnowledgeBase) -> None:
    """"numéro" is a contact cue unless "de la résolution" follows: "résolution" and "session",
    written in that lookahead, are no cue words (a cue word is left out of the search)."""
    assert "numero" in kb.answering.cue_words
    assert not {"resolution", "session", "enfants", "familles"} & kb.answering.cue_words


def test_the_number_of_a_resolution_is_no_phone_number(kb: KnowledgeBase, index: SentenceIndex) -> None:
    text = "Quel est le numéro de la résolution qui a décidé du premier dialogue, et à quelle session de l'Assemblée générale il devait avoir lieu ?"
    assert not kb.answering.asks_contact(text)
    _, shown = respond(kb, index, intent="ask_high_level_dialogue", text=text)
    assert "58/208" in shown and "soixante et unième" in shown and "Télécopie" not in shown


def test_who_the_users_are_before_a_comma_is_their_story(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Chad and "victimes", in the users' presentation, are not points the pages fail to give."""
    _, text = respond(kb, index, intent="ask_beneficiaries", country="Tchad", text=(
        "On est une petite association au Tchad qui aide les migrants victimes de traite, "
        "l'OIM forme les organisations de la société civile ?"))
    assert "45 000" in text and "ne mentionnent pas" not in text


def test_two_questions_about_one_situation_get_two_answers(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The Yemen and a return make a situation, but each clause asks its own point."""
    _, text = respond(kb, index, intent="ask_voluntary_return", text=(
        "Sur quels critères on examine une personne qui veut un retour volontaire, et comment on "
        "transporte les gens depuis le Yémen ?"))
    assert "aptitude médicale" in text and "vols charters" in text


def test_what_decides_whether_one_has_a_right_to_help_asks_the_conditions(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_voluntary_return",
                      text="On regarde quoi pour décider si un migrant a droit à l'aide au retour volontaire ?")
    assert "aptitude médicale" in text


def test_for_whom_after_a_quote_finds_the_people_it_names(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"en particulier pour qui ?" after "des pays qui n'ont pas de structures d'accueil": unaccompanied
    minors are people a sentence can be for, as migrants or refugees are."""
    _, text = respond(kb, index, intent="ask_programme_eligibility", topic="event.council_110",
                      before=("Au Conseil de l'OIM, Vitorino a parlé des pays qui n'ont pas de structures d'accueil",),
                      text="en particulier pour qui ?")
    assert "mineurs non accompagnés" in text


@pytest.mark.parametrize(("intent", "text", "expected"), [
    ("nlu_fallback", "Je vis à Tripoli depuis deux ans, la vie est trop dure ici, je veux revoir ma mère au Niger. Vous pouvez m'aider ?",
     "retour humanitaire volontaire"),
    ("ask_resettlement", "Je suis réfugié en Suède, ma femme et mes enfants sont restés au pays et je voudrais qu'ils viennent vivre avec moi",
     "regroupement familial"),
])
def test_a_situation_in_everyday_words(kb: KnowledgeBase, index: SentenceIndex, intent: str, text: str, expected: str) -> None:
    _, shown = respond(kb, index, "fallback" if intent == "nlu_fallback" else "intent", intent=intent, text=text)
    assert expected in shown, shown


def test_an_asylum_refused_with_nothing_to_live_on_is_a_stranded_migrant(kb: KnowledgeBase) -> None:
    """Read as a question on asylum, the message tells of a case the stranded migrants' fund is for
    ("demandes d'asile rejetées", "dénuement"): that help, then no promise on asylum."""
    text = "ma demande d'asile au Maroc a été refusée et maintenant j'ai plus rien pour vivre"
    shown = render(actions_module._small_talk(kb, Turn(intent="ask_asylum_visa", text=text, country="Maroc", said=(text,)), DOMAIN))
    assert "migrants bloqués" in shown and "rien promettre" in shown, shown


@pytest.mark.parametrize(("text", "ranked", "expected"), [
    ("slt jsui de bangui, l oim ca existe depuis kel anne svp", ("greet", "ask_iom_history"), "1951"),
    # "quel année": a date asked; "la migration": no other topic
    ("jsui journaliste, l oim promeut la migration depui kel anné ?", ("ask_iom_identity", "ask_contact"), "1951"),
    ("Comment l'OIM considère-t-elle les migrants ?", (), "Les migrants"),  # the OIM is what it is about
])
def test_a_question_on_the_organisation_alone_the_classifier_unsure(
    kb: KnowledgeBase, index: SentenceIndex, text: str, ranked: tuple[str, ...], expected: str
) -> None:
    _, shown = respond(kb, index, "fallback", intent="nlu_fallback", text=text, ranked_intents=ranked)
    assert expected in shown, shown


def test_a_question_naming_only_the_organisation_is_answered_from_its_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"l oim c depui kel anne" read as what the OIM is: its "depuis 1951", not another topic's
    "Au cours des 70 dernières années, l'OIM ..." sharing only the OIM's name and "années"."""
    _, shown = respond(kb, index, intent="ask_iom_identity", text="l oim c depui kel anne")
    assert "1951" in shown and "70 dernières années" not in shown, shown


def test_a_question_asked_beside_a_danger_told_is_answered_after_the_help(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Help first, then what the pages say on the question the message asks as well."""
    reply, shown = respond(kb, index, intent="nlu_fallback", text=(
        "Mon petit frère de 15 ans est parti seul d'Haïti vers le Mexique, j'ai tellement peur pour lui. Le directeur "
        "de l'OIM a parlé des cas très graves que beaucoup de pays ne savent pas gérer, il parlait de quels cas ?"))
    assert responses(reply)[:2] == ["utter_safety_minor", "utter_safety_person"]
    assert "mineurs non accompagnés" in shown, shown
    text = ("Ma sœur a disparu sur la route depuis des mois, je suis désespérée. Les gens de l'OIM restent tous dans "
            "des bureaux, c'est vrai ? Quelle part de leur personnel travaille sur le terrain ?")
    # read as urgent by the classifier's guard: the triage action, with the classifier's ranking
    turn = Turn(intent="urgent_help", text=text, said=(text,), ranked_intents=("ask_presence", "ask_iom_identity"))
    shown = render(actions_module._safety(kb, turn, DOMAIN))
    assert "90 %" in shown, shown
    reply, _ = respond(kb, index, intent="nlu_fallback", text=(
        "aidez moi svp ils m'ont enfermé dans une maison, ils demandent de l'argent à ma famille sinon ils vont me tuer"))
    assert responses(reply) == ["utter_safety_trafficking", "utter_safety_person"]  # no question: the help alone


def test_the_second_of_two_things_asked_in_one_message(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"le premier ... a eu lieu quand, et le second quand ?": each its date."""
    _, shown = respond(kb, index, intent="ask_high_level_dialogue",
                       text="Le premier Dialogue de haut niveau sur les migrations internationales a eu lieu quand, et le second quand ?")
    assert "14-15 septembre 2006" in shown and "3-4 octobre 2013" in shown, shown


def test_a_wrong_year_is_said_then_the_sentence_with_the_right_one(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The pages never name 1980: said first, then the sentence on the boat people (1975)."""
    _, text = respond(kb, index, intent="ask_iom_history",
                      text="Les boat people vietnamiens, l'OIM s'en est occupée en 1980, c'est bien ça ?")
    assert "ne mentionnent pas « 1980 »" in text and "boat people vietnamiens en 1975" in text


def test_an_ordinal_the_pages_lack_gets_no_other_ones_sentence(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """No third Dialogue: the second one's place would read as the answer."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue", text="le troisième dialogue de haut niveau c'était où ?")
    assert "ne mentionnent pas « troisième »" in text and "3-4 octobre 2013" not in text


def test_a_wrong_proportion_in_a_long_question_gets_the_pages_one(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_beneficiaries",
                      text="J'ai lu qu'un habitant de la planète sur dix est migrant, c'est le chiffre que donne l'OIM ?")
    assert "une personne sur sept" in text


@pytest.mark.parametrize("text", ["quel est le hashtag de l'OIM", "Quel mot-dièse l'OIM met-elle en avant pour défendre la cause de la migration ?"])
def test_the_hashtag_is_found_by_what_it_is(kb: KnowledgeBase, index: SentenceIndex, text: str) -> None:
    """"#formigration" shares no word with "quel est le hashtag de l'OIM ?": two units of the pages
    show a hashtag, each a candidate as good as the best match on words."""
    _, shown = respond(kb, index, intent="ask_iom_identity", text=text)
    assert "#formigration" in shown, shown


def test_quand_before_an_elided_subject_joins_clauses(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"quand l'OIM aide des réfugiés ..., avec quelle autre agence ?" asks who, not when."""
    text = "quand l'OIM aide des réfugiés à rentrer chez eux ils le font avec quelle autre agence de l'ONU"
    assert kb.answering.question_type(fold(text)).evidence == "agent"
    assert kb.answering.question_type(fold("quand l'OIM a-t-elle rejoint l'ONU")).name == "date"
    _, shown = respond(kb, index, intent="ask_un_membership", text=text)
    assert "HCR" in shown


def test_how_to_perceive_migrants_asked_with_a_long_subject(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"le DG" is written out "le directeur général": the cue still reads "comment ... percevoir les migrants"."""
    _, shown = respond(kb, index, intent="ask_council_session",
                       text="Dans son discours au Conseil, comment le DG Vitorino dit-il qu'il faut percevoir les migrants ?")
    assert "partenaires déterminés" in shown, shown


@pytest.mark.parametrize("text", [
    "Dans son cadre stratégique migration et développement, quel rôle l'OIM attribue-t-elle aux collectivités territoriales ?",
    "l'OIM veut que les autorités locales jouent quel rôle ?",
])
def test_the_role_given_to_local_authorities(kb: KnowledgeBase, index: SentenceIndex, text: str) -> None:
    """The role a kind of actor is given is what it is held to be: "agir en tant que « premiers
    intervenants »"; "collectivités territoriales" are the pages' "autorités infranationales"."""
    _, shown = respond(kb, index, intent="ask_migration_development", text=text)
    assert "premiers intervenants" in shown, shown


def test_a_role_of_the_oim_itself_is_no_seen_as_question(kb: KnowledgeBase) -> None:
    folded = fold("Une fois passée de la simple réinstallation à un rôle mondial, l'OIM est chargée de veiller à quoi pour les migrants ?")
    assert kb.answering.question_type(folded) is None or kb.answering.question_type(folded).name != "seen_as"


def test_a_question_misread_as_a_contact_request_is_answered(kb: KnowledgeBase) -> None:
    """The classifier read "ask_contact", but no word asks for a contact and it asks a share: the
    share the pages give, not every contact card; a real contact request still gets the cards."""
    text = "Quel ordre de grandeur l'OIM donne-t-elle pour la part des migrants dans la population mondiale ?"
    shown = render(focused.answer_contact_request(kb, Turn(intent="ask_contact", text=text, said=(text,)), DOMAIN))
    assert "une personne sur sept" in shown and "@" not in shown
    asked = "comment je peux joindre l'OIM ?"
    shown = render(focused.answer_contact_request(kb, Turn(intent="ask_contact", text=asked, said=(asked,)), DOMAIN))
    assert "@iom.int" in shown


def test_where_it_was_held_is_a_second_question(kb: KnowledgeBase) -> None:
    """ "où s'est tenu" asks a place as "où se tient" does: the message holds two questions."""
    text = "Dans quelle ville s'est ouverte la 110e session du Conseil de l'OIM, et où s'est tenu le premier Dialogue de haut niveau en 2006 ?"
    assert kb.answering.split_questions(text, stop_words()) == [
        "Dans quelle ville s'est ouverte la 110e session du Conseil de l'OIM",
        "où s'est tenu le premier Dialogue de haut niveau en 2006",
    ]


def test_a_day_named_by_a_follow_up_picks_that_days_meeting(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et celle du 8 juillet ?" after the round table of 4 July (Geneva): the one of 8 July (New York)."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue", topic="event.high_level_dialogues",
                      before=("La table ronde sur les migrations internationales du 4 juillet 2006, elle a eu lieu où ?",),
                      previous_reply="Table ronde sur les migrations internationales et le développement, 4 juillet 2006, Genève",
                      text="et celle du 8 juillet ?")
    assert "8 juillet 2006, New York" in text, text


def test_a_room_code_is_no_year(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Rm. DC2-1950 New York" shows no date: "le deuxième Dialogue à New York, à quelles dates ?"
    is answered by the meeting's line, not by the secretariat's address."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue",
                      text="Le deuxième Dialogue de haut niveau à New York, il a eu lieu à quelles dates ?")
    assert "3-4 octobre 2013" in text and "DC2-1950" not in text


def test_an_aspect_answered_with_no_topic_before_makes_the_sentence_topic_the_conversation_s(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The criteria of the voluntary return, asked with no topic on: the next follow-up ("et pour les
    transporter ?") is on that programme."""
    reply, text = respond(kb, index, intent="nlu_fallback", mode="fallback", country="Libye",
                          text="Pour le retour depuis la Libye, comment l'OIM décide qui passe en premier ?")
    assert "critères" in text and reply.slots.get("topic") == "programme.voluntary_return", (reply.slots, text)


def test_which_of_two_bodies_to_call_asks_who_handles_the_case(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"faut appeler le HCR ou l'OIM ?" asks which one handles the case told, not for a number."""
    _, text = respond(kb, index, intent="ask_voluntary_return", country="Libye",
                      text="Mon cousin est enfermé dans un centre de détention en Libye, il veut rentrer chez nous au "
                           "Sénégal. Je sais pas si faut appeler le HCR ou l'OIM, qui s'occupe de ça ?")
    assert "retour humanitaire volontaire" in text and "@" not in text, text


def test_when_something_just_said_dates_from_is_in_the_reply_just_given(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et elle date de quand, euh ?" after the resolution's sentence: its date, "euh" asking nothing."""
    _, text = respond(kb, index, intent="ask_iom_history", topic="event.high_level_dialogues",
                      before=("la résolution de l'ONU qui a lancé le dialogue de haut niveau, c'est laquelle ?",),
                      previous_reply="L’Assemblée générale des Nations Unies a, dans sa résolution 58/208 du 23 décembre "
                                     "2003, décidé qu’à sa soixante et unième session, en 2006, son dialogue de haut niveau "
                                     "serait consacré à la question des migrations internationales et du développement.",
                      text="Et elle date de quand, euh, exactement ?")
    assert "23 décembre 2003" in text, text


def test_fillers_opening_a_message_do_not_thin_the_question_out(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Oui bonjour, euh, en fait, ..." before a question: the UNICEF's line, as without them."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue",
                      text="Oui bonjour, euh, en fait, l'UNICEF, elle participe au dialogue de haut niveau ?")
    assert "Observateurs" in text and "UNICEF" in text, text


def test_papers_asked_for_an_enrolment_are_the_point_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"quels papiers ... pour m'inscrire au retour ... en Libye ?" asks for the papers (a gap), not
    how to enrol; a "dossier" sent to an address is no paper asked for."""
    _, text = respond(kb, index, intent="ask_voluntary_return",
                      text="Quels papiers exactement je dois apporter pour m'inscrire au retour humanitaire volontaire en Libye ?")
    assert "ne précisent pas quels papiers" in text, text
    assert kb.answering.aspect(fold("quelle adresse pour envoyer un dossier a la division ?"))[0].name != "papers"


def test_a_filler_taken_off_a_follow_up_keeps_the_message_before(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"D'accord. Et ça se déroulait dans quelle ville ?": the question before is still the one
    the follow-up continues (the second Dialogue), not "D'accord." read as a story."""
    _, text = respond(kb, index, intent="affirm", mode="small_talk", topic="event.high_level_dialogues",
                      before=("Quel était l'intitulé du deuxième Dialogue de haut niveau sur les migrations "
                              "internationales et le développement ?",),
                      previous_reply="Le deuxième Dialogue de haut niveau était consacré, entre autres, au cadre de "
                                     "développement pour l’après-2015.",
                      text="D'accord. Et ça se déroulait dans quelle ville ?")
    assert "New York" in text, text


def test_a_claim_of_what_someone_said_is_ranked_on_what_was_said(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"est-ce que le DG a dit que les migrants sont des partenaires ?": the sentence saying so, not
    the one introducing the DG's speech."""
    _, text = respond(kb, index, intent="ask_council_session",
                      text="est-ce que le directeur général a dit que les migrants sont des partenaires ?")
    assert "partenaires déterminés" in text, text


def test_a_fact_asked_of_another_topic_beside_a_story_is_asked_of_that_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Je suis étudiant sans papiers ... Le premier Dialogue, il a eu lieu quand ?": the Dialogue's
    date, not the fund for stranded migrants the story would fit."""
    _, text = respond(kb, index, intent="nlu_fallback", mode="fallback",
                      text="Je suis étudiant sans papiers et je fais un mémoire. Le tout premier Dialogue de haut "
                           "niveau de l'ONU sur les migrations, il a eu lieu quand ?")
    assert "2006" in text and "bloqués" not in text, text


def test_and_of_something_else_asks_what_the_message_before_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et de tables rondes ?" after "combien de séances plénières ?": how many round tables."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue", topic="event.high_level_dialogues",
                      before=("au premier dialogue de haut niveau y avait combien de séances plénières ?",),
                      text="et de tables rondes ?")
    assert "quatre tables rondes" in text, text


def test_the_third_of_two_lists_just_given_is_that_of_the_ranking(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The reply gave the 2019 operations (a list) and the three first resettlement countries: "et le
    troisième ?" asks the third of the ranking."""
    _, text = respond(kb, index, intent="ask_resettlement", topic="programme.resettlement",
                      before=("en 2019 c'était quoi les deux premiers pays de réinstallation ?",),
                      previous_reply="En 2019, des opérations importantes ont été menées en Afghanistan, en Égypte, en "
                                     "Éthiopie, en Iraq, en Jordanie, au Kenya, au Liban, en Turquie, en Ouganda, en "
                                     "République-Unie de Tanzanie et en Ukraine. Les trois premiers pays de réinstallation "
                                     "étaient les États-Unis d'Amérique, le Canada et l'Australie.",
                      text="et le troisième ?")
    assert "Australie" in text and "Afghanistan" not in text, text


def test_a_sentence_adding_to_the_one_before_comes_after_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"En outre, l'OIM aide ... les autorités locales ..." adds to the sentence before it: a town hall
    asking how the OIM helps gets that one too (the local migration profiles)."""
    _, text = respond(kb, index, intent="nlu_fallback", mode="fallback",
                      text="Je bosse dans une mairie, on veut prendre en compte les migrants dans notre plan de "
                           "développement local, l'OIM aide comment ?")
    assert "profils migratoires locaux" in text and text.index("profils migratoires") < text.index("En outre"), text


def test_fillers_of_a_phone_call_are_no_point_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"allô", "du coup": a caller's fillers, not a word the pages should mention."""
    _, reply = respond(kb, index, intent="ask_high_level_dialogue",
                       text="Allô bonjour, euh, le deuxième dialogue de haut niveau, il s'est tenu quand, les dates exactes, du coup ?")
    assert "octobre 2013" in reply and "allô" not in reply.lower() and "coup" not in reply, reply
    # nor who is on the line of a hotline
    _, relayed = respond(kb, index, intent="ask_movement_assistance",
                         text="un appelant veut faire venir sa femme et ses enfants qui sont restés au pays, c'est dans "
                              "les activités de mouvement de l'OIM ?")
    assert "appelant" not in relayed, relayed


@pytest.mark.parametrize("text", ["ya combien d'etats dans le dialogue onu sur les migrations ?",
                                  "combien de pays dans le dialogue de haut niveau sur les migrations",
                                  "Combien d'États prennent part à ce Dialogue de haut niveau sur les migrations ?"])
def test_a_count_unqualified_takes_the_heading_of_the_topic_page(kb: KnowledgeBase, index: SentenceIndex, text: str) -> None:
    """"combien d'États dans le Dialogue ?" asks for the figure of "États participants (195 États)",
    although it does not say "participent"."""
    _, reply = respond(kb, index, intent="ask_high_level_dialogue", text=text)
    assert "195" in reply, reply


def test_an_aspect_follow_up_is_ranked_with_the_message_before(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_programme_eligibility", topic="event.council_110",
                      before=("Vitorino a dit que beaucoup de pays n'ont pas de structures d'accueil de base ?",),
                      text="surtout pour qui ?")
    assert "mineurs non accompagnés" in text, text


def test_an_illness_told_with_a_journey_gets_help_then_the_health_services(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="urgent_help", text=(
        "Ma femme est très malade et nous partons bientôt avec l'OIM vers notre pays d'accueil, "
        "elle aura besoin d'un suivi médical pendant le vol."))
    assert "urgence" in text and "escortes médicales" in text


def test_seeing_the_light_of_day_asks_the_founding(kb: KnowledgeBase) -> None:
    """"Quand est-ce que l'OIM a vu le jour ?" asks when it was founded (a weekday is a date too:
    "le lancement, mercredi, ..." answered it)."""
    assert kb.answering.question_type(fold("Quand est-ce que l'OIM a vu le jour ?")).name == "founding"


def test_what_is_checked_in_a_migrant_asks_the_conditions(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_voluntary_return",
                      text="Avant d'accorder un retour volontaire, l'OIM vérifie quoi chez le migrant ? Je pense à sa santé par exemple.")
    assert "aptitude médicale" in text


def test_other_solutions_than_a_programme_set_it_aside(kb: KnowledgeBase) -> None:
    kept, aside = kb.answering.without_set_aside("Il existe d'autres solutions que la réinstallation pour les réfugiés ?")
    assert " ".join(kept.split()) == "Il existe d'autres solutions ?" and aside.startswith("que la réinstallation")
    assert kb.answering.without_set_aside("que fait l'OIM pour les réfugiés ?")[1] == ""


def test_a_scene_set_before_a_colon_is_no_point_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"exposé", unknown to the pages, is the user's setting, not what they ask about."""
    _, text = respond(kb, index, intent="ask_iom_history",
                      text="Je prépare un exposé sur l'OIM : de quel événement historique l'organisation est-elle née ?")
    assert "Seconde Guerre mondiale" in text and "« exposé »" not in text


def test_a_new_topics_labelled_fact_comes_before_the_sentence_just_given(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The sentence just given says "fait partie du système des Nations Unies ... depuis 1951" (of
    promoting migration); asked next since when the OIM is in the UN, the fact labelled so: 2016."""
    given = ("L'Organisation internationale pour les migrations (OIM) fait partie du système des Nations Unies et "
             "est la première organisation intergouvernementale à promouvoir depuis 1951 une migration humaine")
    _, text = respond(kb, index, intent="ask_un_membership", text="et elle fait partie de l'ONU depuis quand ?",
                      topic="org.history", before=("Depuis quand l'OIM existe-t-elle ?",), previous_reply=given)
    assert "2016" in text


def test_rank_off_the_topic_pages_must_match_the_whole_question(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Without the topic's words, "qui a créé le Groupe mondial ?" reads "qui a créé ?", which the
    OIM's own history answers; a sentence of another page must match the whole question too."""
    topic = kb.entry("event.global_migration_group")
    question = "qui a créé le Groupe mondial sur la migration ?"
    stripped = "qui a créé le       la migration ?"
    best = index.rank(stripped, topic, "agent", k=1, whole_question=question)[0]
    assert "Secrétaire général" in best.unit.text and best.in_topic
    # Off the topic's pages the topic's words count like any other: asked while on the health
    # services, "un professionnel de santé qui émigre" is the one of the 65 years' page.
    topic = kb.entry("programme.health_integration")
    question = "l'exemple d'un professionnel de santé qui émigre : il part d'où et il va où ?"
    stripped = "l'exemple d'un professionnel de   qui émigre : il part d'où et il va où ?"
    best = index.rank(stripped, topic, "place", k=1, whole_question=question)[0]
    assert "Malaisie" in best.unit.text and not best.in_topic


def test_a_common_word_of_a_section_title_gives_no_bonus(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "L'aide humanitaire aux migrants bloqués": "aide" is in too many sentences to point to it."""
    topic = kb.entry("programme.resettlement")
    best = index.rank("L'OIM aide combien d'États chaque année pour la ?", topic, "number", k=1)[0]
    assert "30 États" in best.unit.text


def test_rank_within_topic_keeps_the_topic_only(kb: KnowledgeBase, index: SentenceIndex) -> None:
    topic = kb.entry("programme.resettlement")
    hits = index.rank("quels pays ?", topic, "places", k=20, within_topic=True)
    assert hits and all(h.in_topic for h in hits)
    assert index.topic_passages(None) == frozenset()


def test_unknown_nouns_are_what_no_page_speaks_of(index: SentenceIndex) -> None:
    assert index.unknown_nouns("quel est le budget annuel de l'OIM ?") == ["budget"]
    assert index.unknown_nouns("combien de pays membres ?") == []
    assert index.unknown_nouns("l'OIM aide les migrants bloqués ?") == []
    assert index.unknown_nouns("mon fils est malade, il peut voyager ?") == []  # the user's story
    assert index.unknown_nouns("l'OIM, quel est son budget ?") == ["budget"]  # the OIM's: asked about
    assert index.unknown_nouns("c'est quoi le fond pour les migrants bloqués") == []  # the pages say "fonds"
    assert index.unknown_nouns("la migration c bon pr le develop ou pa ?") == []  # "développement" cut short


@pytest.mark.parametrize(
    ("text", "evidence", "shown"),
    [
        ("En 2016, l'OIM est entrée dans le système des Nations Unies.", "date", True),
        ("quatre tables rondes interactives", "number", True),
        ("Tel. +41 22 717 91 11", "number", False),  # a phone number is not a quantity
        ("14-15 septembre 2006", "number", False),  # days of a date neither
        ("sans aucun chiffre", "number", False),
        ("n'importe quoi", "place", True),  # entity kinds are judged on the page's entities
    ],
)
def test_text_shows(text: str, evidence: str, shown: bool) -> None:
    assert text_shows(text, evidence) is shown


# --- Composing the reply (actions/focused.py) ------------------------------------------------------


def test_a_count_question_is_answered_by_the_page_sentence(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_high_level_dialogue",
                          text="combien de tables rondes au premier dialogue ?")
    assert responses(reply)[0] == "utter_focused_answer"
    assert "quatre" in text and "Source :" in text
    assert reply.slots["topic"] == "event.high_level_dialogues"


def test_two_questions_get_two_answers(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_high_level_dialogue",
                          text="c'est quand le premier dialogue et il y avait combien de tables rondes ?")
    assert responses(reply) == ["utter_focused_answer", "utter_focused_answer"]
    assert "2006" in text and "quatre" in text


def test_a_second_question_of_question_words_asks_about_the_first(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"il a duré combien de jours ?" is about the Council the first part named, and the
    elliptic "et le deuxième ?" is the first question asked about the second dialogue."""
    _, text = respond(kb, index, intent="ask_council_session",
                      text="Le Conseil de l'OIM s'est ouvert quel jour et il a duré combien de jours ?")
    assert "26 novembre" in text and "trois jours" in text
    _, text = respond(kb, index, intent="ask_high_level_dialogue",
                      text="En quelle année s'est tenu le premier Dialogue de haut niveau, et le deuxième ?")
    assert "2006" in text and "2013" in text


def test_follow_up_who_is_read_against_the_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="c'est avec qui ?",
                          topic="programme.repatriation")
    assert "HCR" in text and "Source :" in text
    assert reply.slots["topic"] == "programme.repatriation"


def test_follow_up_where_gives_the_place(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="c'était où ?",
                          topic="event.high_level_dialogues", before=("c'était quand le premier dialogue ?",))
    assert "New York" in text


def test_an_aspect_the_pages_do_not_give_is_said_first(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="c'est gratuit ?",
                          topic="programme.resettlement")
    assert responses(reply)[0] == "utter_gap_point_topic"
    assert text.startswith("Les documents que je connais ne précisent pas ce que coûte cette aide")
    assert "La réinstallation" in text and "Source :" in text


def test_an_aspect_asked_after_a_story_still_finds_the_sentence_that_answers_it(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    _, text = respond(kb, index, intent="ask_voluntary_return",
                      text="mon frere est en libye il est malade et il a perdu ses papiers, il peut quand meme rentrer avec vous ?")
    assert text.startswith("Chaque migrant recevant une aide au retour volontaire est examiné")
    assert "aptitude médicale" in text and "ne précisent pas" not in text


def test_duration_follow_up_says_the_pages_do_not_give_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="ça prend combien de temps ?",
                      topic="programme.voluntary_return")
    assert "ne précisent pas combien de temps" in text and "Le retour humanitaire volontaire" in text


def test_a_situation_leads_to_the_programme_that_fits(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_stranded_migrants",
                          text="je suis bloqué en libye sans passeport, je veux rentrer au mali")
    assert responses(reply)[0] == "utter_situation_intro"
    assert "retour humanitaire volontaire" in text and "Source :" in text
    assert reply.slots["topic"] == "programme.voluntary_return"


def test_someone_leaving_for_a_country_they_do_not_know_gets_the_orientation_before_departure(kb: KnowledgeBase) -> None:
    """A worry told, not a programme named: the health and integration services (information and
    orientation on the destination country before leaving)."""
    told = kb.answering.situation("je vais partir au canada pour ma reinstallation et j'ai peur je connais rien du pays")
    assert told is not None and told.entry == "programme.health_integration"
    assert kb.answering.situation("je connais rien au retour volontaire") is None  # no departure told


def test_a_war_told_with_any_form_of_leaving_is_the_evacuation(kb: KnowledgeBase) -> None:
    told = kb.answering.situation("je travaille dans un pays où la guerre vient d'éclater, il faut qu'on sorte d'ici")
    assert told is not None and told.entry == "programme.evacuation"


def test_a_diaspora_association_is_the_diaspora(kb: KnowledgeBase) -> None:
    told = kb.answering.situation("on est une association de maliens en france, on veut aider au developpement de notre village")
    assert told is not None and told.entry == "framework.migration_development"


def test_where_the_user_lives_is_no_gap_of_their_situation(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A country no page names, told as where the user lives: the programme for the case, no
    "the documents do not mention Allemagne"."""
    reply, text = respond(kb, index, intent="ask_complementary_pathways", country="Allemagne",
                          text="je vis en Allemagne et ma femme et mes enfants sont restés au pays, comment je peux les faire venir ?")
    assert responses(reply)[0] == "utter_situation_intro"
    assert "regroupement familial" in text and "Allemagne" not in text


def test_a_long_story_in_libya_gets_the_voluntary_return(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_voluntary_return", text=long_story())
    assert "retour humanitaire volontaire" in text


def test_the_slots_name_the_entry_the_reply_is_about(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A refugee asking about the voluntary return is given the repatriation (audience redirect):
    the topic slot must say so, or the next follow-up is answered about the wrong programme."""
    reply, text = respond(kb, index, intent="ask_voluntary_return", text="c'est possible ?",
                          before=("je suis réfugiée au Kenya",))
    assert "rapatriement volontaire" in text
    assert reply.slots["topic"] == "programme.repatriation", (responses(reply), reply.slots)


def test_something_no_page_speaks_of_is_said_honestly(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="quel est le budget annuel de l'OIM ?")
    assert "ne donnent pas d'information" in text or "ne précisent pas" in text
    assert "budget" in text
    assert "topic" not in reply.slots


def test_html_and_control_characters_do_not_change_the_answer(kb: KnowledgeBase, index: SentenceIndex) -> None:
    plain, plain_text = respond(kb, index, intent="ask_high_level_dialogue",
                                text="combien de tables rondes au premier dialogue ?")
    dirty, dirty_text = respond(kb, index, intent="ask_high_level_dialogue",
                                text="<b>combien de tables rondes\x07 au premier dialogue ?</b>")
    assert dirty_text == plain_text and dirty.slots == plain.slots


def test_small_talk_is_answered_only_when_it_is_a_follow_up_question(kb: KnowledgeBase, index: SentenceIndex) -> None:
    no_topic = focused.answer_small_talk(kb, Turn(intent="affirm", text="oui", said=("oui",)), DOMAIN)
    assert no_topic.messages == []
    robot = Turn(intent="bot_challenge", text="tu es un robot ?", topic="programme.repatriation",
                 said=("tu es un robot ?",))
    assert focused.answer_small_talk(kb, robot, DOMAIN).messages == []
    question = Turn(intent="bot_challenge", text="c'est avec qui ?", topic="programme.repatriation",
                    said=("c'est avec qui ?",))
    reply = focused.answer_small_talk(kb, question, DOMAIN)
    assert "HCR" in render(reply)
    urgent = focused.answer_small_talk(kb, Turn(intent="affirm", text="je veux mourir", said=("je veux mourir",)),
                                       DOMAIN)
    assert responses(urgent)[0] == "utter_safety_suicide"


def test_a_request_for_concrete_examples_is_a_follow_up(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"donne moi des exemples concrets" read as "what can you do?": "concrets" names no point, the
    examples of the topic are the reply."""
    asked = Turn(intent="ask_capabilities", text="donne moi des exemples concrets", topic="programme.complementary_pathways",
                 said=("C'est quoi les voies complémentaires ?", "donne moi des exemples concrets"))
    assert "voies complémentaires" in render(focused.answer_small_talk(kb, asked, DOMAIN))


# --- Rasa NLU components (bot/nlu/guards.py) -------------------------------------------------------


@pytest.fixture(scope="module")
def guard() -> SafetyGuard:
    return SafetyGuard(SafetyRules.load(paths.knowledge_dir()))


def _message(text: str, intent: str = "greet", confidence: float = 0.8) -> Message:
    return Message(data={
        TEXT: text,
        INTENT: {"name": intent, "confidence": confidence},
        INTENT_RANKING_KEY: [{"name": intent, "confidence": confidence}, {"name": "goodbye", "confidence": 0.1}],
    })


def test_a_question_opened_by_a_greeting_is_answered_as_a_question(kb: KnowledgeBase, guard: SafetyGuard) -> None:
    """"Bonjour, combien coûte ... ?" read as a greeting: the guard makes it a question for the
    fallback, which answers it (here: the pages do not say); a greeting stays one (no action server
    needed for it)."""
    text = "Bonjour, combien coûte une procédure de regroupement familial avec l'OIM ? Je dois prévoir combien d'argent ?"
    message = _message(text)
    guard.process([message])
    assert message.get(INTENT)["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME
    reply = actions_module._fallback(kb, Turn(intent=DEFAULT_NLU_FALLBACK_INTENT_NAME, text=text, said=(text,)), DOMAIN)
    assert "ne précisent pas" in render(reply), render(reply)
    for greeting in ("bonjour", "salut, ça va ?", "Bonjour madame, comment allez-vous ?", "wesh bien ou quoi",
                     "bonjour j'ai une question", "bonjour, est-ce que vous allez bien ?"):
        message = _message(greeting)
        guard.process([message])
        assert message.get(INTENT)["name"] == "greet", greeting


def test_a_question_read_as_a_goodbye_or_thanks_is_answered_as_a_question(guard: SafetyGuard) -> None:
    """"et ça a donné quoi à la fin ?" was read as a goodbye ("à la fin"): the guard makes it a
    question for the fallback; a goodbye or thanks asking nothing stays one."""
    for text, intent in (("et ça a donné quoi à la fin ?", "goodbye"), ("merci, et c'était quand ?", "thanks"),
                         ("ok merci, et comment on s'inscrit ?", "thanks"), ("et cinq ans plus tard ?", "goodbye"),
                         ("on doit parler du dialogue de haut niveau, est-ce que c'est vrai que ce truc a été établi "
                          "en 2003 ? voilà merci beaucoup et désolée pour le pavé hein", "thanks")):
        message = _message(text, intent)
        guard.process([message])
        assert message.get(INTENT)["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME, text
    for text, intent in (("au revoir", "goodbye"), ("merci beaucoup !", "thanks"), ("bonne soirée à vous ?", "goodbye"),
                         ("merci, c'est tout pour moi", "thanks")):
        message = _message(text, intent)
        guard.process([message])
        assert message.get(INTENT)["name"] == intent, text


@pytest.mark.parametrize("text", ["bonjour c'est quoi l'OIM ?", "slt c koi loim", "salut, c'est quoi l'oim",
                                  "<b>bonjour</b><script>alert(1)</script> c'est quoi l'OIM ?"])
def test_a_short_greeting_asking_what_the_oim_is_gets_what_it_is(kb: KnowledgeBase, guard: SafetyGuard,
                                                                    text: str) -> None:
    """Read as a greeting ("bonjour" outweighs the rest), a short question on what the OIM is: the
    guard makes it a question, and the fallback, seeing a greeting then a definition asked of the OIM
    alone, answers with the organisation's first entry (script code is no word of the question)."""
    message = _message(clean_user_text(text))
    guard.process([message])
    assert message.get(INTENT)["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME, text
    reply = actions_module._fallback(kb, Turn(intent=DEFAULT_NLU_FALLBACK_INTENT_NAME, text=text, said=(text,),
                                              ranked_intents=("greet", "ask_iom_identity")), DOMAIN)
    assert "organisation intergouvernementale" in render(reply), render(reply)


def test_safety_guard_makes_an_urgent_message_urgent_help(guard: SafetyGuard) -> None:
    message = _message("je n'en peux plus")
    guard.process([message])
    assert message.get(INTENT) == {"name": URGENT_INTENT, "confidence": 1.0}
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0] == {"name": URGENT_INTENT, "confidence": 1.0}
    assert [r["name"] for r in ranking[1:]] == ["greet", "goodbye"]
    assert message.as_dict()[INTENT]["name"] == URGENT_INTENT  # what Rasa's output carries


def test_safety_guard_sends_a_message_without_words_to_the_fallback(guard: SafetyGuard) -> None:
    for text in ("?", "...", "🙂"):
        message = _message(text)
        guard.process([message])
        assert message.get(INTENT) == {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}, text


def test_a_key_held_down_is_not_read_as_the_word_it_shortens_to() -> None:
    """"aaaaaaaa" once cleaned to "a" ("à plus": a goodbye for the classifier); it is left as typed
    and the guard sends it to the fallback, while "merciiii" is still read as "merci"."""
    from bot.nlu.guards import InputCleaner

    cleaner, guard = InputCleaner(), SafetyGuard(SafetyRules.load(paths.knowledge_dir()))
    for text, fallback in (("aaaaaaaaaaaaaaaa", True), ("ZZZZZZ", True), ("merciiiii", False)):
        message = _message(text, intent="goodbye", confidence=0.9)
        guard.process(cleaner.process([message]))
        assert (message.get(INTENT)["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME) is fallback, text
    assert clean_user_text("merciiiii beaucouuup") == "merci beaucoup"


def test_safety_guard_leaves_ordinary_questions_alone(guard: SafetyGuard) -> None:
    message = _message("c'est quoi l'OIM ?", intent="ask_iom_identity", confidence=0.93)
    guard.process([message])
    assert message.get(INTENT) == {"name": "ask_iom_identity", "confidence": 0.93}


def test_input_cleaner_cleans_the_text_the_intent_is_read_from() -> None:
    message = Message(data={TEXT: "bonjour\x07"})
    InputCleaner().process([message])
    assert message.get(TEXT) == "bonjour"


def test_cleaner_then_guard_read_a_long_story(guard: SafetyGuard) -> None:
    """The classifier reads the question; the guard reads the whole message."""
    calm = Message(data={TEXT: long_story()})
    urgent = _message(long_story(opening=f"Je n'en peux plus. {STORY_OPENING}"), intent="ask_voluntary_return")
    InputCleaner().process([calm, urgent])
    guard.process([calm, urgent])
    assert calm.get(TEXT) == focus(clean_user_text(long_story()))
    assert calm.get(TEXT) == STORY_QUESTION and calm.get(FULL_TEXT) == clean_user_text(long_story())
    assert urgent.get(INTENT)["name"] == URGENT_INTENT


# --- Rasa actions (actions/actions.py) -------------------------------------------------------------


def _tracker(intent: str, text: str, slots: dict[str, Any] | None = None, said: tuple[str, ...] = ()) -> Tracker:
    return Tracker(
        sender_id="test-answering",
        slots=slots or {},
        latest_message={"intent": {"name": intent}, "entities": [], "text": text},
        events=[{"event": "user", "text": t} for t in (*said, text)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def _run(action: Any, tracker: Tracker) -> tuple[list[str], str, dict[str, Any]]:
    """(responses uttered, the text a user reads, slots set)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    reply = Reply(messages=[dict(m) for m in dispatcher.messages])
    names = responses(reply)
    for message in reply.messages:  # CollectingDispatcher adds its own empty keys
        for key in [k for k, v in message.items() if k != "response" and not isinstance(v, str)]:
            del message[key]
    return names, render(reply), {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_action_answer_question_leads_with_the_page_sentence(index: SentenceIndex) -> None:
    names, text, slots = await _run(
        ActionAnswerQuestion(), _tracker("ask_high_level_dialogue", "combien de tables rondes au premier dialogue ?")
    )
    assert names[0] == "utter_focused_answer" and "quatre" in text
    assert slots["topic"] == "event.high_level_dialogues"


async def test_action_out_of_scope_answers_a_follow_up(index: SentenceIndex) -> None:
    names, text, slots = await _run(
        ActionOutOfScope(), _tracker("out_of_scope", "c'est avec qui ?", {"topic": "programme.repatriation"})
    )
    assert names == ["utter_focused_answer"] and "HCR" in text
    assert slots["topic"] == "programme.repatriation"


async def test_action_out_of_scope_stays_polite_without_a_topic(index: SentenceIndex) -> None:
    names, _, slots = await _run(ActionOutOfScope(), _tracker("out_of_scope", "il fait beau ?"))
    assert names == ["utter_out_of_scope"] and slots == {}


async def test_action_search_fallback(index: SentenceIndex) -> None:
    names, _, _ = await _run(ActionSearchFallback(), _tracker("nlu_fallback", "?"))
    assert names == ["utter_ask_rephrase"]
    names, text, _ = await _run(ActionSearchFallback(), _tracker("nlu_fallback", "zzkq wxv plorp"))
    assert names == ["utter_ask_rephrase"]  # no word of the pages nor of French
    names, text, _ = await _run(ActionSearchFallback(), _tracker("nlu_fallback", "combien coûte un billet de train pour Lyon ?"))
    assert names[0] != "utter_ask_rephrase"  # French words: searched, and the gap said


async def test_action_small_talk(index: SentenceIndex) -> None:
    names, _, _ = await _run(ActionSmallTalk(), _tracker("affirm", "oui"))
    assert names == ["utter_affirm"]
    names, _, _ = await _run(ActionSmallTalk(), _tracker("bot_challenge", "tu es un robot ?",
                                                         {"topic": "programme.repatriation"}))
    assert names == ["utter_bot_challenge"]
    names, text, _ = await _run(ActionSmallTalk(), _tracker("affirm", "où ça ?", {"topic": "event.high_level_dialogues"},
                                                            said=("c'était quand le premier dialogue ?",)))
    assert names == ["utter_focused_answer"] and "New York" in text


def test_a_question_on_the_pages_read_as_small_talk_gets_their_answer(kb: KnowledgeBase) -> None:
    """SMS "c t" reads like "t'es un robot ?": a question bringing words of the pages gets what the
    pages say; "tu es un robot ?" and a yes naming a programme stay small talk."""
    text = "linvasion de liraq loim etai la ? c t kan"
    shown = render(ActionSmallTalk.compose(kb, Turn(text=text, intent="bot_challenge", said=(text,)), DOMAIN))
    assert "l’invasion de l’Iraq en 2003" in shown and "robot" not in shown
    # A figure the pages give counts as one of their words, even inside the question's cue.
    text = "c vré ke 1 personne sur 7 c un migrant ??"
    shown = render(ActionSmallTalk.compose(kb, Turn(text=text, intent="bot_challenge", said=(text,)), DOMAIN))
    assert "une personne sur sept est un migrant" in shown and "robot" not in shown
    for intent, text, said in (("bot_challenge", "tu es un robot ?", "utter_bot_challenge"),
                               ("bot_challenge", "t'es un robot ou 1 humain ?", "utter_bot_challenge"),
                               ("affirm", "oui ok pour les infos sur la reinstallation", "utter_affirm")):
        reply = ActionSmallTalk.compose(kb, Turn(text=text, intent=intent, said=(text,)), DOMAIN)
        assert responses(reply) == [said]
    # On asylum, what the pages do not say and no promise either.
    text = "jai combien de chance d'avoir un visa humanitaire pour la france"
    reply = ActionSmallTalk.compose(kb, Turn(text=text, intent="ask_asylum_visa", said=(text,)), DOMAIN)
    assert responses(reply)[-1] == "utter_asylum_visa" and "ne précisent pas" in render(reply)


async def test_action_safety_triage_flags_the_conversation(index: SentenceIndex) -> None:
    names, text, slots = await _run(ActionSafetyTriage(), _tracker("urgent_help", "on me menace de mort"))
    assert names == ["utter_safety_danger", "utter_safety_person"]
    assert slots == {"urgent": True, "handoff_requested": True}
    # The classifier may say urgent_help without a pattern matching: distress is the safe reply.
    names, _, slots = await _run(ActionSafetyTriage(), _tracker("urgent_help", "aidez moi"))
    assert names == ["utter_safety_distress", "utter_safety_person"] and slots["urgent"] is True


async def test_a_person_asked_for_in_an_urgent_conversation_hears_the_emergency_advice_again(index: SentenceIndex) -> None:
    """domain.yml utter_handoff_urgent: "je n'en peux plus" then "je veux parler à quelqu'un" gets the
    emergency services again (no number), not only "no person, here is the press contact"."""
    tracker = _tracker("ask_human", "je veux parler à quelqu'un", slots={"urgent": True}, said=("je n'en peux plus",))
    names, text, _ = await _run(ActionHumanHandoff(), tracker)
    assert "utter_handoff_urgent" in names and "services d'urgence" in text
    assert not re.search(r"\b(112|911|15|17)\b", text)
    names, _, _ = await _run(ActionHumanHandoff(), _tracker("ask_human", "je veux parler à quelqu'un"))
    assert "utter_handoff_urgent" not in names


# --- REST request checks (bot/serving/rest_channel.py) -----------------------------------------------------


def _body(message: Any, sender: str | None = "moi") -> bytes:
    return json.dumps({"sender": sender, "message": message}).encode()


@pytest.mark.parametrize("message", ["   ", "\x07", "<b></b>", "\u200b \n"])
def test_a_message_with_nothing_to_read_gets_the_rephrase_reply(message: str) -> None:
    with pytest.raises(PoliteReply) as raised:
        parse_request(_body(message), 5000)
    assert raised.value.response_name == "utter_ask_rephrase" and raised.value.sender == "moi"


def test_message_length_limit() -> None:
    with pytest.raises(PoliteReply) as raised:
        parse_request(_body("ab" * 2500 + "c"), 5000)
    assert raised.value.response_name == "utter_message_too_long"
    assert len(parse_request(_body("ab" * 2500), 5000).text) == 5000


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"message": 3}', b'{"message": "x", "sender": ""}'])
def test_malformed_requests_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_request(body, 5000)


def test_a_valid_request_is_cleaned_and_loses_its_command_slash() -> None:
    incoming = parse_request(_body("/restart\x07"), 5000)
    assert incoming.text == "restart" and incoming.sender == "moi"
    assert parse_request(_body("<i>bonjour</i>", None), 5000).sender is None


def test_the_polite_replies_exist_in_the_domain() -> None:
    for name in ("utter_ask_rephrase", "utter_message_too_long", "utter_action_error"):
        assert response_text(DOMAIN, name)


# --- QA judge (bot/maintenance/qa_set.py) ----------------------------------------------------------------------


def test_an_empty_reply_fails_even_without_expectations() -> None:
    item = QAItem(id="silence", turns=["bonjour"])
    assert judge(item, "") == ["empty reply (silence)"]
    assert judge(item, "  \n ") == ["empty reply (silence)"]
    assert judge(item, "Bonjour !") == []


def test_judge_is_insensitive_to_case_and_accents() -> None:
    item = QAItem(id="x", turns=["q"], expect_all=["Yémen"], expect_any=["HCR", "réfugiés"], forbid=["Maroc"])
    assert judge(item, "au YEMEN, avec le hcr") == []
    assert judge(item, "au Maroc") == ["missing «Yémen»", "none of «HCR», «réfugiés»", "forbidden «Maroc» present"]


def test_scores_by_category_and_table() -> None:
    def outcome(category: str, passed: bool) -> QAOutcome:
        return QAOutcome(QAItem(id=f"{category}-{passed}", turns=["q"], category=category), "r", [] if passed else ["x"])

    outcomes = [outcome("sms", True), outcome("detail", True), outcome("detail", False), outcome("sms", True)]
    assert scores_by_category(outcomes) == {"detail": (1, 2), "sms": (2, 2), "all": (3, 4)}
    table = category_table(outcomes).splitlines()
    assert table[2:] == ["| detail | 1 | 2 | 50.0 % |", "| sms | 2 | 2 | 100.0 % |", "| **all** | 3 | 4 | 75.0 % |"]


# --- Last: nothing read in this module gives a contact the pages do not ----------------------------


def test_no_reply_invents_an_email_or_a_phone(kb: KnowledgeBase, index: SentenceIndex, pages_text: str) -> None:
    """Every reply rendered above, plus questions that ask for contacts and numbers outright."""
    for text, intent, topic in [
        ("quel est le numéro de téléphone de l'OIM ?", "out_of_scope", None),
        ("donnez-moi l'email du service de presse", "nlu_fallback", None),
        ("c'est quoi l'adresse du bureau ?", "out_of_scope", "programme.voluntary_return"),
        ("combien ça coûte ?", "out_of_scope", "programme.evacuation"),
        ("je suis bloqué au yémen sans argent", "ask_stranded_migrants", None),
        ("qui contacter pour la migration et le développement ?", "ask_migration_development", None),
    ]:
        mode = {"out_of_scope": "out_of_scope", "nlu_fallback": "fallback"}.get(intent, "intent")
        respond(kb, index, mode, intent=intent, text=text, topic=topic)
    assert len(REPLIES) >= 6
    page_digits = digits_only(pages_text)
    for reply in REPLIES:
        for email in EMAIL.findall(reply):
            assert email in pages_text, (email, reply)
        for phone in PHONE.findall(reply):
            assert digits_only(phone) in page_digits, (phone, reply)


# --------------------------------------------------------------------------- channels and reloads
def test_socketio_text_is_cleaned_bounded_and_never_empty() -> None:
    from bot.serving.socketio_channel import NOTHING_TO_READ, readable_text

    assert readable_text("/restart", 5000) == "restart"
    assert readable_text("bonjour\x07", 5000) == "bonjour"
    assert readable_text("<b>bonjour</b>", 5000) == "bonjour"
    assert readable_text("   ", 5000) == NOTHING_TO_READ
    assert readable_text(None, 5000) == NOTHING_TO_READ
    assert len(readable_text("ab" * 4500, 5000)) == 5000


def test_a_reloaded_knowledge_version_is_warmed_up_before_it_serves(tmp_path: Path) -> None:
    from bot.knowledge import paths
    from bot.knowledge.store import KnowledgeStore

    folder = tmp_path / "knowledge"
    shutil.copytree(paths.knowledge_dir(), folder)
    warmed: list[KnowledgeBase] = []
    store = KnowledgeStore(folder, warm_up=warmed.append)
    first = store.current()
    sources = folder / "sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert store.reload_if_changed()
    assert warmed and warmed[-1] is store.current() and store.current() is not first


# --- SMS spelling and typos -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("c koi la reinstalation", "c koi la reinstallation"),
        ("le rapatriment c pour ki", "le rapatriement c pour ki"),
        ("evacuassion du yemen", "evacuation du yemen"),
        ("je viens de Kayes au Mali", "je viens de Kayes au Mali"),  # names stay as typed
        ("c'est quoi l'OIM ?", "c'est quoi l'OIM ?"),
    ],
)
def test_misspelt_words_are_read_as_the_closest_page_word(index: SentenceIndex, kb: KnowledgeBase, typed: str, read: str) -> None:
    assert index.respell(typed, focused.spelling_keep(kb)) == read


@pytest.mark.parametrize(
    ("text", "french"),
    [
        ("bjr jvx savoir l oim el e presant ds cb d pay stp", True),
        ("slt c koi le retour volontaire", True),
        ("hello, do you speak english?", False),
        ("I am stuck in Libya, can you help me", False),
        ("hola, necesito ayuda por favor", False),
        ("how to contact iom", False),
    ],
)
def test_french_in_sms_spelling_is_not_another_language(kb: KnowledgeBase, text: str, french: bool) -> None:
    assert focused.reads_as_french(kb, text) is french


def test_sms_french_taken_for_another_language_gets_an_answer(kb: KnowledgeBase) -> None:
    text = "slt c koi le retour volontaire"
    reply = ActionSmallTalk.compose(kb, Turn(text=text, intent="other_language", said=(text,)), DOMAIN)
    shown = render(reply)
    assert "retour" in shown and "uniquement français" not in shown
    english = "what is IOM"  # English on the pages' topics: what they say, after saying it speaks French
    reply = ActionSmallTalk.compose(kb, Turn(text=english, intent="other_language", said=(english,)), DOMAIN)
    assert responses(reply)[0] == "utter_other_language_answer" and "Organisation internationale" in render(reply)
    english = "hello how are you"  # nothing to search with: "please ask in French"
    reply = ActionSmallTalk.compose(kb, Turn(text=english, intent="other_language", said=(english,)), DOMAIN)
    assert responses(reply) == ["utter_other_language"]


# --- Issue 14: SMS forms, situations, follow-ups, two questions (2026-12-02) -------------------------


@pytest.mark.parametrize(
    ("word", "place"),
    [
        ("chilienne", "chili"),  # the French name of the sentences, not the English "Chile" of the member list
        ("libyens", "libye"),
        ("yemenite", "yemen"),
        ("genevois", "geneve"),
        ("hongrois", "hongrie"),
        ("malien", "mali"),
        ("conseiller", None),  # "Conseil" is capitalised, but "-ler" makes no adjective of a place
        ("directrice", None),
    ],
)
def test_an_adjective_of_a_place_is_searched_as_the_place(index: SentenceIndex, word: str, place: str | None) -> None:
    assert index.place_of_demonym(word) == place
    if place is not None:
        assert index.with_place_names(f"la crise {word}").endswith(f" {place}")


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("c koi l oim", "c'est quoi l oim"),
        ("ya cb d eta ki particip o dialog", "il y a combien de état qui particip au dialogue"),
        ("jveu rentré ché moi", "je veux rentré chez moi"),
        ("l oim ele fé parti d lonu ?", "l oim elle fait parti de les Nations Unies ?"),
        ("c'est quoi l'OIM ? d'accord", "c'est quoi l'OIM ? d'accord"),  # "c'", "d'" are not SMS forms
        ("sé koi l oim", "c'est quoi l oim"),
        ("qu'est-ce qui se produit ?", "qu'est-ce qui se produit ?"),  # "se", "ce" are words, not "sé", "cé"
        ("l'OMS est observateur ?", "l'Organisation mondiale de la Santé est observateur ?"),  # after an article
        ("pr loim lé migran c dé acteur de koi", "pour l'OIM les migran c'est des acteur de quoi"),
        ("la résolution de l'ONU", "la résolution de l'ONU"),
        ("c vré ke ya en bato", "c'est vrai que il y a en bateau"),
        ("elle a été créée", "elle a été créée"),  # a word of its own, not the SMS "etai"
        ("le dialog de o nivo", "le dialogue de haut niveau"),  # "de o nivo" is "de haut niveau", "o" alone "au"
        ("ya cbm de migrants", "il y a combien de migrants"),
        ("le dialog de o niveau cété ou", "le dialogue de haut niveau c'était où"),  # "ou" after "c'était" asks where
        ("cest ki le dg de loim", "cest qui le directeur général de l'OIM"),
        ("avk les enfan", "avec les enfants"),
        ("kel pei a rejoin", "quel pays a rejoin"),  # "pei" is no "paie": no cost asked
        ("koi kon fé", "quoi qu'on fait"),
        ("le 2em dialog", "le deuxième dialogue"),
        ("c t apres quoi ?", "c'était apres quoi ?"),  # read as "t'es un robot ?" before
        ("oim c depui kel anne", "oim c'est depuis quel année"),
        ("jvis en france et jenvoie de l argent", "je vis en france et j'envoie de l argent"),
        ("le pro de la sante il part d'ou", "le professionnel de la sante il part d'ou"),
    ],
)
def test_sms_forms_are_written_out(kb: KnowledgeBase, typed: str, read: str) -> None:
    assert kb.answering.unsms(typed) == read


def test_an_sms_question_is_answered_from_the_page_sentence(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_movement_assistance", text="cb d pers aidé pr le mouvmen en 2021 stp")
    assert "118 000" in text


def test_a_correct_word_is_not_respelt_into_another_word(index: SentenceIndex, kb: KnowledgeBase) -> None:
    """ "citées" (accent-free "citees" has no word vector) once became "criteres", which read as
    a question on eligibility; a word of the same family is still read as the page's."""
    keep = focused.spelling_keep(kb)
    assert "criteres" not in index.respell("les catastrophes citées dans l'histoire", keep)
    assert index.respell("les thèmes débattus", keep) == "les thèmes debats"
    assert index.respell("une demande dasile", keep) == "une demande d'asile"  # the apostrophe SMS spelling drops


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("c'est gratui ?", "c'est gratuit ?"),  # a cue word ("gratuit"), filed by the model under its vector
        ("combien de persone", "combien de personne"),  # a page word, same vector row
        ("ils montent dans le bateau", "ils montent dans le bateau"),  # a word of its own, not "montant"
        ("ca paye combien", "ca paye combien"),  # an inflection sharing the vector of "payent": not a typo
        ("kel conditon pour partir", "kel condition pour partir"),  # no vector: the closest cue word
        # Not words of the language: the page word that sounds the same (sounds_like).
        ("les axes de travay", "les axes de travail"),
        ("le tsunami en asi", "le tsunami en asie"),
        ("dans le nouvo pays", "dans le nouveau pays"),
        ("l'OIM est presant dans combien de pays", "l'OIM est present dans combien de pays"),
        # Words of the language the pages do not use stay as typed, whatever they sound like.
        ("je suis à la gare ce soir", "je suis à la gare ce soir"),
        ("traverser la mer", "traverser la mer"),
    ],
)
def test_typos_of_cue_words_and_model_variants_are_read_as_the_word(
    index: SentenceIndex, kb: KnowledgeBase, typed: str, read: str
) -> None:
    assert index.respell(typed, focused.spelling_keep(kb), kb.answering.cue_words) == read


@pytest.mark.parametrize(
    ("one", "other"), [("nouvo", "nouveau"), ("travay", "travail"), ("presant", "present"), ("arriv", "arrivent")]
)
def test_sms_spellings_sound_like_the_word(one: str, other: str) -> None:
    assert sounds_like(one) & sounds_like(other)


def test_a_cost_follow_up_in_sms_read_as_small_talk_gets_the_gap(kb: KnowledgeBase) -> None:
    """ "c ki ki paye" once got "Oui, je suis un robot": the classifier read small talk."""
    text = "c ki ki paye"
    turn = Turn(text=text, intent="bot_challenge", topic="programme.voluntary_return", said=("c koi le retour volontair", text))
    shown = render(ActionSmallTalk.compose(kb, turn, DOMAIN))
    assert "ne précisent pas ce que coûte cette aide" in shown


def test_cue_words_are_the_whole_words_of_the_cues(kb: KnowledgeBase) -> None:
    words = kb.answering.cue_words
    assert {"gratuit", "gratuite", "gratuits", "passeport", "combien", "conditions"} <= words
    assert not {"ephone", "inscri", "gratuite?s?"} & words  # pieces of "tel(ephone)?", "inscri(re|s)"


def test_a_cost_question_in_sms_spelling_gets_the_gap(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(
        kb, index, "followup", intent="nlu_fallback", text="c gratui ?", topic="programme.voluntary_return",
        before=("c'est quoi le retour volontaire",),
    )
    assert "ne précisent pas ce que coûte cette aide" in text


def test_the_topic_is_its_section_without_the_passages_of_other_topics(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The relocation shares its page section with the resettlement: not its sentences."""
    relocation, resettlement = kb.entry("programme.relocation"), kb.entry("programme.resettlement")
    assert relocation is not None and resettlement is not None
    topic = index.topic_passages(relocation)
    assert set(relocation.sources) <= topic
    assert not set(resettlement.sources) & topic


def test_what_is_in_sms_spelling_gets_the_programme(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "kes ke cé" is "qu'est-ce que c'est": nothing asked beyond the programme, its summary."""
    _, shown = respond(kb, index, intent="ask_relocation", text="kes ke cé la relocalisasion", programme="relocation")
    assert shown.startswith("La relocalisation se fait dans l’Union européenne")


@pytest.mark.parametrize("text", ["quels pays accueillent le plus de réfugiés réinstallés", "kel pay accueil le + de refugié"])
def test_a_question_asking_for_the_most_gets_the_ranking_sentence(kb: KnowledgeBase, index: SentenceIndex, text: str) -> None:
    """ "le plus" asks for a ranking: "les trois premiers pays de réinstallation"."""
    _, shown = respond(kb, index, "out_of_scope", intent="out_of_scope", text=text)
    assert "trois premiers pays de réinstallation" in shown


def test_a_rare_title_word_still_ranks_the_sentence_naming_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "CRISP" is in the title of the complementary pathways, but one sentence only names it."""
    _, text = respond(kb, index, intent="ask_complementary_pathways", text="CRISP c'est l'abréviation de quoi ?")
    assert "voies complémentaires durables (CRISP)" in text


def test_a_followup_date_is_not_taken_from_another_topic_of_the_section(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The resettlement's 2019 operations share a page section with the relocation: not its date."""
    reply, text = respond(
        kb, index, "followup", intent="nlu_fallback", text="depuis quand ?", topic="programme.relocation",
        before=("la relocalisation",),
    )
    assert "2019" not in text and "ne précisent pas" in text


@pytest.mark.parametrize(
    ("programme", "text", "expected"),
    [
        ("evacuation", "les evacuasion c pr ki", "déplacés internes"),
        ("relocation", "la relocalisation c'est pour qui ?", "protection internationale"),
        ("stranded_migrants", "l'aide aux migrants bloqués c'est destiné à qui", "bloqués dans des situations difficiles"),
    ],
)
def test_for_whom_is_answered_by_the_entrys_curated_who(
    kb: KnowledgeBase, index: SentenceIndex, programme: str, text: str, expected: str
) -> None:
    """ "c'est pour qui ?" is whom the help is for (the entry's curated `who`), not its conditions."""
    entry = kb.entry_for_programme(programme)
    assert entry is not None and "who" in entry.aspects
    reply, shown = respond(kb, index, intent=f"ask_{programme}", text=text, programme=programme)
    assert expected in shown and "ne précisent pas" not in shown
    assert fold(entry.aspects["who"].answer[:60]) in fold(shown)


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("Qui s'est adressé aux États membres ?", None),
        ("quelle est l'adresse du bureau ?", "office"),
        ("et elle a quel âge l'OIM ?", None),
        ("il faut avoir quel âge pour partir ?", "age"),
        ("l'OIM soutient quelle agence pour le rapatriement ?", None),  # who, not where
        ("il y a une agence de l'OIM à Dakar ?", "office"),
        ("kel agence onu pr les enfant ds les observateur du dialogue", None),  # "quel" and "onu": which body
        ("Et si la migration est mal gérée, qu'est-ce qui peut arriver ?", None),  # "ce qui peut": no "who may"
        ("qui peut en bénéficier ?", "conditions"),
        ("L'initiative CRISP, elle est menée par l'OIM avec quelle autre agence ?", None),  # who, not an office
        # a residence permit one has is no question about getting one
        ("je vis en belgique avec un titre de séjour, ma femme et mes enfants sont restés au pays, comment être ensemble ?", None),
        ("comment obtenir un titre de séjour ?", "visa"),
    ],
)
def test_aspect_cues_do_not_read_verbs_or_the_organisation_as_aspects(kb: KnowledgeBase, text: str, aspect: str | None) -> None:
    found = analyse(kb.answering, text).aspect
    assert (found.name if found else None) == aspect


def test_a_decade_is_not_a_year_no_page_names(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_iom_history",
                      text="Quelles catastrophes naturelles des années 2000 sont citées dans l'histoire de l'OIM ?")
    assert "ne mentionnent pas « 2000 »" not in text
    assert "tsunami" in text


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        # Words of a situation holding an apostrophe or a hyphen are split as the message is.
        ("Je suis maire d'une petite ville où beaucoup d'habitants viennent d'ailleurs, comment l'OIM peut nous aider ?",
         "local_authority_hosting_migrants"),
        ("je suis en Libye et je veux retourner dans mon pays d'origine", "stranded_in_libya_or_yemen_wants_to_go_home"),
        ("j'ai peur qu'on me fasse du mal là-bas", "fears_harm_on_return"),
        ("Je suis maire d'une commune où beaucoup d'habitants sont partis ou arrivés", "local_authority_hosting_migrants"),
    ],
)
def test_situation_words_with_apostrophes_or_hyphens(kb: KnowledgeBase, text: str, situation: str) -> None:
    told = kb.answering.situation(text)
    assert told is not None and told.name == situation


def test_a_diaspora_helping_their_home_region_is_the_diaspora_case(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml `diaspora_wants_to_help_home`: "notre région d'origine" is home too."""
    text = ("Je vis en France depuis quinze ans et avec d'autres Sénégalais on voudrait contribuer au "
            "développement de notre région d'origine, l'OIM soutient ce genre de chose ?")
    assert kb.answering.situation(text).name == "diaspora_wants_to_help_home"
    _, reply = respond(kb, index, "fallback", intent="nlu_fallback", text=text)  # as the classifier reads it
    assert "diaspora" in reply


def test_the_situation_told_with_most_words_wins(kb: KnowledgeBase) -> None:
    told = kb.answering.situation(
        "Ma mère a une maladie du coeur et doit voyager en avion pour nous rejoindre, il y a un accompagnement ?"
    )
    assert told is not None and told.entry == "programme.health_integration"


def test_a_situation_gets_the_sentence_in_the_pages_words(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A mayor does not say "autorités locales": the situation's terms find that sentence."""
    _, text = respond(kb, index, intent="ask_migration_development",
                      text="Je suis maire d'une commune qui accueille beaucoup de migrants, vous pouvez nous aider ?")
    assert "premiers intervenants en matière de migration" in text or "profils migratoires locaux" in text


def test_a_short_question_naming_no_topic_follows_the_conversation(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "créé quand ?" after the Global Migration Group: the classifier reads the OIM's history,
    but the message names neither it nor the organisation."""
    reply, text = respond(kb, index, intent="ask_iom_history", text="créé quand ?",
                          topic="event.global_migration_group", before=("le groupe mondial sur la migration c'est quoi",))
    assert "2006" in text
    assert reply.slots["topic"] == "event.global_migration_group"
    _, text = respond(kb, index, intent="ask_member_states", text="et l'OIM a combien d'États membres ?",
                      topic="programme.resettlement")
    assert "175" in text


def test_a_follow_up_does_not_repeat_the_sentence_just_given(kb: KnowledgeBase, index: SentenceIndex) -> None:
    first, given = respond(kb, index, "out_of_scope", intent="out_of_scope", text="c'est avec qui ?",
                           topic="programme.resettlement")
    again, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="et avec qui d'autre ?",
                          topic="programme.resettlement", previous_reply=given)
    assert again.messages and again.messages[0].get("sentence") != first.messages[0].get("sentence")


def test_a_wish_gets_the_programme_not_a_detail(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_voluntary_return", text="jveu rentré o pays aidé moi svp")
    assert "retour humanitaire volontaire" in text and "Libye" in text


def test_two_questions_without_a_topic_word_use_the_intent(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_member_states",
                          text="l'OIM existe depuis quand et elle a combien d'Etats membres ?")
    assert len([r for r in responses(reply) if r == "utter_focused_answer"]) == 2
    assert "Etats membres" in text or "États membres" in text


def test_a_contact_request_with_another_question_answers_both(kb: KnowledgeBase) -> None:
    turn = Turn(intent="ask_contact", contact_target="md_unit",
                text="c'est quoi l'approche pangouvernementale, et c'est quoi le mail de l'unité migration et développement durable ?")
    text = render(focused.answer_contact(kb, turn, DOMAIN))
    assert "migration4development@iom.int" in text
    assert "gouvernements" in text


def test_a_year_alone_does_not_make_a_sentence_answer(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The only sentence naming 2020 is about a report's title: the figure asked is not given."""
    _, text = respond(kb, index, intent="ask_relocation",
                      text="Combien de personnes ont été relocalisées en Europe en 2020 ?")
    assert "ne précisent pas ce chiffre" in text
    assert "Etat de la migration dans le monde 2020" not in text


def test_a_pronoun_for_the_organisation_follows_the_classifier_among_its_facets(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_iom_history", text="elle a été créée quand ?",
                          topic="org.identity", before=("c koi l'oim",))
    assert reply.slots["topic"] == "org.history"
    assert "1951" in text or "Seconde Guerre mondiale" in text


# --- Page sections and words of the same meaning -----------------------------------------------------------


def test_a_question_naming_a_page_section_gets_its_opening_sentences(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """No topic is titled "approche pangouvernementale": the section's first sentences say what it is,
    not whichever of its sentences ranks first ("L'OIM aide également ... à piloter")."""
    _reply, text = respond(kb, index, mode="fallback", intent="nlu_fallback", text="c'est quoi l'approche pangouvernementale ?")
    assert "comprendre comment tous ces domaines de gouvernance" in text
    assert "« intégrer » la migration dans la planification" in text


def test_a_word_of_the_same_meaning_finds_the_pages_sentence(index: SentenceIndex) -> None:
    """search_words.yml `same_meaning`: "par la mer" is said "mouvements maritimes" in the pages."""
    from bot.knowledge.search import same_meaning

    assert "maritimes" in same_meaning()["mer"]
    top = [hit.unit.text for hit in index.rank("les retours ça se fait aussi par la mer ?", k=3)]
    assert any("mouvements maritimes" in text for text in top)
    assert index.unknown_nouns("un voyage en mer") == []  # "mer": the pages speak of it as "maritimes"


def test_a_number_in_digits_finds_the_pages_number_in_words(index: SentenceIndex) -> None:
    """search_words.yml `number_words`: "1 sur 7" finds "une personne sur sept" (both were unknown
    to each other, and "sept" was the rarest word of the sentence)."""
    (top,) = index.rank("c'est vrai que 1 personne sur 7 est un migrant ?", k=1)
    assert "une personne sur sept est un migrant" in top.unit.text
    (top,) = index.rank("les tables rondes du premier dialogue, il y en avait 4 ?", k=1)
    assert "quatre tables rondes" in top.unit.text


def test_a_point_the_pages_do_not_name_is_said_then_the_sentence_answering_the_rest(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """ "hémisphère" is a word of no page: the reply says so first, then quotes the sentence that
    still answers "combien d'États membres", with its source (it used to stop at the gap)."""
    reply, text = respond(kb, index, intent="ask_member_states",
                          text="L'OIM a combien d'États membres dans l'hémisphère sud ?")
    assert responses(reply)[0] == "utter_gap_words_topic"
    assert "ne mentionnent pas « hémisphère »" in text
    assert re.search(r"Ce qu'ils disent : [^\n]*\d+ Etats membres", text) and "Source :" in text


def test_the_story_before_a_question_names_no_point_of_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Words of the story told before the question ("diapositive") are not points the question asks."""
    story = ("Je prépare un exposé et je dois faire une diapositive de synthèse avec une phrase sur "
             "l'organisation. " * 5) + "Donc ma question : combien d'États membres compte l'OIM aujourd'hui ?"
    _, text = respond(kb, index, intent="ask_member_states", text=story)
    assert "diapositive" not in text and "175" in text


def test_a_noun_of_the_question_cue_is_not_a_point_the_pages_miss(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "dans quelle zone" asks for a place: "zone", a word of no page, is not reported as missing."""
    _, text = respond(kb, index, intent="ask_council_session",
                      text="au Conseil de l'OIM, un débat portait sur les déplacements dans quelle zone ?")
    assert "ne mentionnent pas" not in text and "Source :" in text


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Notre mairie veut intégrer la migration dans son plan local, qui on contacte à l'OIM ?", True),
        ("une conseillère régionale a un projet, quel contact lui donner ?", True),
        ("pour le Dialogue, quel département des Nations Unies faut-il contacter ?", True),
        ("qui on aide en priorité ?", False),
        ("quel service l'OIM propose aux migrants ?", False),
        ("Le secrétariat du Dialogue de haut niveau à New York, je le joins comment ?", True),
        ("l'unité migration et développement, comment on la contacte ?", True),
        ("comment on rejoint l'OIM ?", False),
        ("Notre mairie voudrait l'accompagnement de l'OIM pour son plan local, quel contact ?", True),
        ("qui est notre interlocuteur pour le Dialogue ?", True),
        ("quel contact l'OIM a avec les gouvernements", False),
        ("À qui je peux écrire pour en savoir plus sur la migration et le développement ?", True),  # ho66-087
        ("à qui doit-on s'adresser pour le Dialogue ?", True),
        ("à qui l'OIM peut écrire une lettre ?", False),
    ],
)
def test_asking_whom_to_contact(kb: KnowledgeBase, text: str, asks: bool) -> None:
    assert kb.answering.asks_whom_to_contact(text) is asks


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("je veux écrire pour le dialogue de haut niveau, c'est quoi le mail ?", True),
        ("le numéro de tél de Leonard Doyle svp", True),
        ("ils ont un fax ?", True),
        ("C'est quoi le pays n°1 de réinstallation ?", False),
        ("la 110e session, c'était quel numéro de résolution ?", False),
        ("Quel numéro de résolution a consacré le dialogue de haut niveau de 2006 ?", False),
        # Calling someone asks for their number.
        ("il voudrait appeler le porte-parole cité dans le communiqué, il compose quoi ?", True),
        ("on peut téléphoner à l'unité ?", True),
    ],
)
def test_asking_for_an_email_or_a_number(kb: KnowledgeBase, text: str, asks: bool) -> None:
    assert kb.answering.asks_contact_means(text) is asks


def test_a_place_one_sentence_names_points_to_it_whatever_the_topic_read(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "santé" reads as the health services; "Malaisie" and the question's words are in one sentence
    only, which answers. A place alone does not make a sentence the answer ("je suis au Niger")."""
    text = "Dans l'exemple donné par l'OIM, le professionnel de santé qui part de Malaisie va vivre dans quel pays ?"
    _, shown = respond(kb, index, intent="ask_health_integration", country="Malaisie", text=text)
    assert "Jordanie" in shown
    _, shown = respond(kb, index, intent="ask_voluntary_return", country="Niger", text="et moi je suis au niger",
                       topic="programme.voluntary_return", before=("je veux rentrer chez moi",))
    assert "ne mentionnent pas ce pays (Niger)" in shown


def test_a_demonstrative_subject_carries_the_sentence_naming_it(index: SentenceIndex) -> None:
    """ "Ce Dialogue a recensé ..." follows a sentence on the civil society meetings: the sentence it
    stands for is the one naming the second Dialogue, which a question on "le deuxième" needs."""
    unit = next(u for u in index.units if u.text.startswith("Ce Dialogue a recensé"))
    assert unit.context.startswith("Le deuxième Dialogue de haut niveau")
    hits = index.rank("Qu'a recensé le deuxième Dialogue de haut niveau ?", None, "none", k=3)
    assert hits[0].unit.id == unit.id


def test_a_reloaded_knowledge_base_reuses_the_page_analyses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A knowledge-only update rebuilds the sentence index: texts it analysed before are not sent
    to spaCy again (it took ~3 s of the update going live), and the new index ranks the same."""
    from bot.knowledge import sentence_search

    index = SentenceIndex.build(KnowledgeBase.load(paths.knowledge_dir()))  # the live version
    analysed: list[str] = []
    real = sentence_search.spacy_terms
    monkeypatch.setattr(sentence_search, "spacy_terms", lambda texts, docs=None: analysed.extend(texts) or real(texts, docs))
    reloaded = SentenceIndex.build(KnowledgeBase.load(paths.knowledge_dir()))
    assert analysed == []
    question = "combien de tables rondes au premier dialogue"
    assert [(h.unit.id, h.score) for h in reloaded.rank(question, None, "number")] == [
        (h.unit.id, h.score) for h in index.rank(question, None, "number")
    ]


def test_a_situation_gets_the_closest_sentence_of_any_page(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A member of the diaspora gets the programme, then the page sentence on the diaspora, which is
    in a section of the page the programme's entry does not cite."""
    reply, text = respond(kb, index, intent="ask_migration_development",
                          text="j'habite en France depuis 10 ans et je veux investir dans mon village au Mali, "
                               "l'OIM fait quelque chose pour la diaspora ?")
    assert responses(reply)[0] == "utter_situation_intro"
    assert "faire participer leur diaspora" in text


def test_an_aspect_question_naming_no_topic_is_about_the_conversation_topic(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """ "je peux écrire à qui ?" read as a question on eligibility stays on the topic of the
    conversation: a new page's sentence with "écrit" in it once answered it instead."""
    _, text = respond(kb, index, intent="ask_programme_eligibility", text="je peux écrire à qui pour en savoir plus ?",
                      topic="framework.migration_development",
                      before=("Qu'est-ce que l'OIM fait pour le développement durable ?",))
    assert "migration4development@iom.int" in text


@pytest.mark.parametrize("question", ["son mail ?", "il est basé où ?", "et son numéro ?"])
def test_a_question_about_the_contact_just_given_gets_that_contact_only(
    kb: KnowledgeBase, index: SentenceIndex, question: str
) -> None:
    card = render(focused.answer_contact(kb, Turn(intent="ask_contact", contact_target="press"), DOMAIN))
    assert "ldoyle@iom.int" in card
    reply, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text=question,
                          before=("qui contacter pour la presse",), previous_reply=card, contact_slot="press")
    assert "ldoyle@iom.int" in text and "Genève" in text
    assert "migrationp@un.org" not in text and "migration4development@iom.int" not in text
    # The same words with no contact card just before are not about that contact.
    _, elsewhere = respond(kb, index, "out_of_scope", intent="out_of_scope", text=question,
                           previous_reply="La réinstallation permet ...", contact_slot="press")
    assert "ldoyle@iom.int" not in elsewhere


def test_a_follow_up_after_a_card_closing_an_answer_is_about_the_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    first = "Qui a pris la parole à l'ouverture de la 110e session du Conseil de l'OIM ?"
    _, given = respond(kb, index, "intent", intent="ask_council_session", text=first)
    assert "ldoyle@iom.int" in given  # the gap's answer closes with the Council's press contact, unasked
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="c'était quel jour ?",
                      topic="event.council_110", before=(first,), previous_reply=given)
    assert "26 novembre" in text and "ldoyle@iom.int" not in text
    # Asking for the contact itself still gets the card.
    _, asked = respond(kb, index, "out_of_scope", intent="out_of_scope", text="et son mail ?",
                       topic="event.council_110", before=(first,), previous_reply=given)
    assert "ldoyle@iom.int" in asked


def test_an_aspect_follow_up_read_as_out_of_scope_is_about_the_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="le prochain c'est quand ?",
                      topic="event.high_level_dialogues", before=("c'est quoi le dialogue de haut niveau",))
    assert text.startswith("Les documents que je connais ne précisent pas la date ni le lieu de la prochaine réunion")
    assert "Dialogues de haut niveau" in text


def test_two_questions_answered_by_one_sentence_say_it_once(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, "intent", intent="ask_high_level_dialogue", text="le premier dialogue c'était où et quand ?")
    assert "New York" in text and "2006" in text
    assert text.count("14-15 septembre 2006") == 1


def test_a_second_question_of_question_words_gets_a_sentence_the_first_did_not_quote(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """ "... et combien par an ?" once found the first answer's sentence again, said nothing new."""
    _, text = respond(
        kb, index, "intent", intent="ask_resettlement", programme="resettlement",
        text="quels pays accueillent des réfugiés réinstallés et combien par an",
    )
    assert "Canada" in text and "100 000" in text


def test_a_page_section_no_entry_cites_belongs_to_the_pages_main_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """No fact is written from "Faire participer ... les migrants en tant qu'acteurs du développement":
    its sentences are still the migration and development topic's."""
    topic = index.topic_passages(kb.entry("framework.migration_development"))
    assert "004_14400cae3f378927.p017" in topic
    assert "004_14400cae3f378927.p011" not in topic  # written into the OIM's identity: not this topic's
    _, text = respond(kb, index, intent="ask_migration_development",
                      text="de quoi ça dépend si un migrant peut contribuer au développement ?")
    assert "accéder aux services" in text


def test_a_contact_channel_no_card_gives_is_said_to_be_missing(kb: KnowledgeBase) -> None:
    """The unit's card gives an e-mail only: asked for its phone, the reply says the pages give none."""
    turn = Turn(intent="ask_contact", text="et leur numéro de téléphone ?", topic="framework.migration_development")
    reply = answer_contact_cards(kb, turn, DOMAIN)
    text = render(reply)
    assert responses(reply)[0] == "utter_contact_gap" and "numéro de téléphone" in text
    assert "migration4development@iom.int" in text
    mail = render(answer_contact_cards(kb, replace(turn, text="et leur mail ?"), DOMAIN))
    assert "ne précisent pas" not in mail  # the card has one


def test_what_something_was_about_asks_for_a_list(kb: KnowledgeBase) -> None:
    """"ça parlait de quoi ?", "le débat portait sur quoi ?": the subjects, shown as a list is."""
    for text in ("ça parlait de quoi ?", "le débat sur la réintégration portait sur quoi ?", "de quoi ils ont discuté ?"):
        analysis = analyse(kb.answering, text)
        assert analysis.qtype is not None and analysis.qtype.name == "subjects", text
        assert analysis.evidence == "list", text


def test_a_year_naming_a_period_is_not_a_date(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"le cadre de développement pour l'après-2015" does not say when the second Dialogue was held."""
    assert not text_shows("consacré au cadre de développement pour l’après-2015", "date")
    assert text_shows("3-4 octobre 2013, New York", "date")
    _, text = respond(kb, index, intent="ask_high_level_dialogue",
                      text="En quelle année s'est tenu le premier Dialogue de haut niveau sur les migrations, et le deuxième ?")
    assert "2006" in text and "2013" in text


def test_what_something_was_created_for_is_its_reason(kb: KnowledgeBase, index: SentenceIndex) -> None:
    assert text_shows("l’Organisation avait été créée pour réinstaller des réfugiés", "reason")
    _, text = respond(kb, index, intent="ask_iom_history", text="Pourquoi l'OIM a-t-elle été créée ?")
    assert "réinstaller des réfugiés" in text


# --- Issue 14, 2026-12-04 evening: a question and what its reply must (not) hold ---------------------------

STUDENT_REFUGEE = (
    "je suis réfugiée au Liban et étudiante, il n'y a presque pas de places de réinstallation, "
    "y a-t-il d'autres moyens légaux d'aller dans un pays tiers ?"
)
ASKED = [
    # (mode, intent, programme, topic, before, text, expected, absent)
    pytest.param(  # a sentence whose time the paragraph before tells ("cette occasion historique")
        "intent", "ask_un_membership", None, None, (),
        "l oim elle est entrée dans le système des nations unies en quelle année",
        ("L’année 2016", "faire entrer officiellement"), ("depuis 1951",), id="time-told-the-paragraph-before"),
    pytest.param(  # "a débouché sur la création de quoi ?" asks what it led to
        "intent", "ask_high_level_dialogue", None, None, (),
        "Le premier Dialogue de haut niveau ONU sur migrations internationales et développement a débouché sur la création de quoi ?",
        ("Forum mondial sur la migration et le développement",), (), id="led-to-the-creation-of-what"),
    pytest.param(  # "concernent qui ?" asks whom the help is for
        "intent", "ask_evacuation", "evacuation", None, (), "Les évacuations humanitaires internationales concernent qui ?",
        ("déplacés internes",), (), id="concerns-whom-is-for-whom"),
    pytest.param(  # "il y a longtemps" dates; it asks no duration
        "intent", "ask_iom_history", None, None, (),
        "on m'a dit que l'OIM a aidé les gens de Hongrie il y a longtemps, c'était en quelle année ?",
        ("1956",), ("combien de temps",), id="long-ago-is-no-duration"),
    pytest.param(  # a topic named by its whole title beats the situation told around it
        "intent", "ask_gfmd", None, None, (),
        "Je dois expliquer à notre maire la nature juridique du Forum mondial sur la migration et le développement : "
        "les engagements qui y sont pris sont-ils obligatoires pour les États, ou s'agit-il d'un cadre plus souple ?",
        ("non contraignante",), ("votre situation",), id="topic-named-in-full-over-situation"),
    pytest.param(  # "bloqué" alone names no topic in full: the situation still wins
        "intent", "ask_stranded_migrants", None, None, (), "je suis bloqué en libye sans passeport, je veux rentrer au mali",
        ("retour humanitaire volontaire",), (), id="one-title-word-is-no-full-name"),
    pytest.param(  # "quand ça a commencé" asks the founding, not the latest date of the topic
        "intent", "ask_iom_history", None, None, (), "oim cé kan ke sa a commencé",
        ("1951",), ("2016",), id="when-it-began-is-its-founding"),
    pytest.param(  # "1ers" is "premiers": the ranking of the resettlement countries
        "intent", "ask_resettlement", "resettlement", None, (), "3 1ers pays de reinstal en 2019 ??",
        ("le Canada et l'Australie",), (), id="sms-plural-ordinal"),
    pytest.param(  # money asked "c'est combien": an amount the pages do not give
        "intent", "ask_health_integration", "health_integration", None, (),
        "après le retour est-ce que l oim donne de l argent pour ouvrir un commerce c est combien",
        ("ne précisent pas de montant",), (), id="money-how-much-is-an-amount"),
    pytest.param(  # "ça rentre dans ce que l'OIM décrit ?": it fits; no refugee going home
        "intent", "ask_complementary_pathways", None, None, (),
        "Notre paroisse voudrait se mobiliser pour accueillir et parrainer nous-mêmes une famille réfugiée. "
        "Est-ce que ça rentre dans ce que l'OIM décrit ?",
        ("parrainage communautaire privé",), ("rapatriement volontaire",), id="fits-is-no-return-home"),
    pytest.param(  # joining is "adhésion" in the pages (search_words.yml)
        "intent", "ask_council_session", None, None, (),
        "quel pays a rejoint l'Organisation lors de la 110e session ?",
        ("Liban",), (), id="joined-is-adhesion"),
    pytest.param(  # the situation told and the classifier agree against the programme named
        "intent", "ask_complementary_pathways", "resettlement", None, (), STUDENT_REFUGEE,
        ("en plus de la réinstallation",), ("La réinstallation permet",), id="situation-and-classifier-over-programme"),
    pytest.param(  # the same message read by the classifier as the programme named: that programme
        "intent", "ask_resettlement", "resettlement", None, (), STUDENT_REFUGEE,
        ("La réinstallation permet",), (), id="programme-named-and-read"),
    pytest.param(  # a list heading named as a phrase gets the list, even in a "can you tell me" wish
        "intent", "ask_high_level_dialogue", None, None, (),
        "Vous pouvez me citer quelques axes stratégiques actuels du dialogue de haut niveau sur les migrations ?",
        ("Axes stratégiques actuels", "Traite d’êtres humains", "Migrants en détresse"), (), id="list-heading-named"),
    pytest.param(  # the heading's words apart are not its name: a yes/no question on the forum
        "intent", "ask_gfmd", None, "event.gfmd", ("c'est quoi le FMMD ?",),
        "les États sont obligés d'y participer ?",
        ("non contraignante",), ("Afghanistan",), id="heading-words-apart"),
    pytest.param(  # the list heading gives the figure counted, whatever else the question names
        "intent", "nlu_fallback", None, None, (),
        "Combien d'États participent au Dialogue de haut niveau sur les migrations internationales et le développement ?",
        ("195 États",), (), id="counted-heading-among-long-names"),
    pytest.param(  # whom to contact, two topics named: the first one's contact
        "intent", "nlu_fallback", None, None, (),
        "Pour le Dialogue de haut niveau sur les migrations, quel département des Nations Unies faut-il contacter ?",
        ("migrationp@un.org",), ("ldoyle@iom.int", "migration4development@iom.int"), id="contact-first-named-topic"),
    pytest.param(  # what the question sets aside names no topic, even read as the question's programme
        "intent", "ask_resettlement", "resettlement", None, (),
        "à part la réinstallation, l'OIM veille à quoi pour les migrants ?",
        ("bien-être",), (), id="set-aside-topic"),
    pytest.param(  # the only sentence naming 1999 speaks of "catastrophes": close in meaning to "crises"
        "intent", "ask_un_membership", None, None, (),
        "Que s'est-il passé le 19 septembre 2016 pour les migrants, et en 1999 l'OIM a répondu à quelles crises ?",
        ("premier Sommet", "Kosovo"), (), id="year-sentence-in-words-close-in-meaning"),
    pytest.param(  # "elle" is the OIM; no sentence of the resettlement names 2021: the one that does answers
        "intent", "ask_resettlement", None, None, (),
        "Combien d'États l'OIM aide chaque année pour la réinstallation, et combien de personnes elle a aidées à se déplacer en 2021 ?",
        ("30 États", "118 000"), ("ne précisent pas",), id="year-of-another-topic-in-a-follow-up-part"),
    pytest.param(  # "États", a common word the FMMD's summary uses, with "y" standing for it: a follow-up
        "intent", "ask_member_states", None, "event.gfmd", ("c'est quoi le FMMD ?",),
        "les États sont obligés d'y participer ?",
        ("volontaire",), ("175",), id="common-word-the-topic-uses-stays-on-topic"),
    pytest.param(
        "intent", "ask_beneficiaries", None, "programme.resettlement", ("La réinstallation des réfugiés, l'OIM fait ça depuis longtemps ?",),
        "et elle aide combien d'États par an ?",
        ("30 États",), ("166",), id="common-word-with-a-pronoun-stays-on-topic"),
    pytest.param(  # "membres" is no common word: the member states, whatever the topic was
        "intent", "ask_member_states", None, "org.leadership", ("qui dirige l'oim ?",),
        "et combien d'états membres ?",
        ("175",), (), id="title-words-name-another-topic"),
    pytest.param(  # no question word, words of its own: the summary, then the sentence closest to them
        "intent", "ask_movement_assistance", "resettlement", None, (),
        "à part la réinstallation, l'OIM veille à quoi pour les migrants ?",
        ("L’aide au mouvement", "bien-être"), (), id="summary-then-closest-sentence"),
    pytest.param(  # the programme named, then what the pages offer for the case told (a sick father flying)
        "intent", "ask_resettlement", "resettlement", None, (),
        "mon pere est malade du coeur, il doit prendre l'avion pour sa reinstallation, quelqu'un peut l'accompagner ?",
        ("pays tiers", "escortes médicales"), (), id="programme-named-and-a-case-told"),
    pytest.param(  # the list's heading named, none of its items: the whole list
        "intent", "ask_high_level_dialogue", None, None, (),
        "c'est quoi les axes de travail du dialogue de haut niveau maintenant ?",
        ("Migration et développement", "Migrants en détresse", "Image des migrants"), (), id="heading-named-whole-list"),
    pytest.param(  # an item named: that item
        "intent", "ask_high_level_dialogue", None, None, (),
        "c'est quoi l'axe migrants en détresse ?",
        ("Migrants en détresse",), ("Image des migrants",), id="item-named-that-item"),
    pytest.param(  # the topic's fact labelled "Depuis" (2016), not "promouvoir depuis 1951" of another sentence
        "intent", "ask_un_membership", None, None, (),
        "depuis quand l'OIM fait partie des Nations Unies ?",
        ("2016",), ("depuis 1951",), id="fact-labelled-with-the-question-word"),
    pytest.param(  # a label that is a name ("Session") is no question word: the sentence that answers
        "intent", "ask_council_session", None, None, (),
        "Quel pays a vu sa demande d'adhésion acceptée à l'ouverture de la 110e session du Conseil ?",
        ("Liban",), (), id="fact-label-that-is-a-name-is-not-asked"),
    pytest.param(  # "été", "suite" are phrasing: a follow-up on the topic, not a question on the OIM's creation
        "intent", "ask_history", None, "event.gfmd", ("C'est quoi le FMMD ?",),
        "il a été créé suite à quoi ?",
        ("premier Dialogue de haut niveau",), ("après-guerre",), id="created-after-what-follow-up"),
    pytest.param(  # "le combien" asks the day of the month, not a count
        "intent", "ask_high_level_dialogue", None, None, (),
        "l'audition avec les ONG en juillet 2013, c'était le combien ?",
        ("15 juillet 2013",), ("3-4 octobre",), id="le-combien-is-a-date"),
    pytest.param(  # the programme a later part names is not the first part's
        "intent", "ask_movement_assistance", "resettlement", None, (),
        "combien de personnes l'oim a aidé à se déplacer en 2021, et elle aide combien d'états par an en moyenne pour la réinstallation ?",
        ("118 000", "30 États"), (), id="programme-of-a-later-part"),
    pytest.param(  # a date was quoted by the first answer; the second part asks about another dialogue
        "intent", "ask_high_level_dialogue", None, None, (),
        "Comment s'intitulait le deuxième Dialogue, et le premier s'est tenu en quel mois et quelle année ?",
        ("septembre 2006",), (), id="second-date-about-another"),
    pytest.param(  # what the topic is, for someone its facts name: the summary with its examples
        "intent", "ask_complementary_pathways", None, None, (), "c'est quoi les voies complémentaires pour les réfugiés ?",
        ("visas humanitaires", "Source :"), (), id="definition-for-someone"),
    pytest.param(
        "intent", "ask_complementary_pathways", None, None, (), "c koi lé voi complemantèr pr lé refugié",
        ("visas humanitaires", "Source :"), (), id="definition-for-someone-sms"),
    pytest.param(  # the second sentence names the pathways, not the resettlement the first one named
        "intent", "ask_complementary_pathways", "resettlement", None, (),
        "Les réfugiés peuvent-ils partir par d'autres moyens que la réinstallation ? Donne des exemples de voies légales.",
        ("parrainage communautaire privé",), (), id="part-naming-another-topic"),
    pytest.param(  # "les trois premiers pays" ranks countries; "ses activités les plus anciennes" does not
        "intent", "ask_resettlement", "resettlement", None, (),
        "Quels sont les pays qui ont accueilli le plus de réfugiés réinstallés avec l'aide de l'OIM ?",
        ("Canada", "Australie"), (), id="ranking-of-what-is-named"),
    pytest.param(  # "des conditions particulièrement déplorables" are not criteria to meet
        "intent", "ask_voluntary_return", "voluntary_return", None, (),
        "pour le retour volontaire depuis la Libye, quels sont les critères que l'OIM regarde pour accepter quelqu'un ?",
        ("aptitude médicale",), (), id="conditions-one-lives-in"),
    pytest.param(  # "quels outils ?": "des profils migratoires locaux et des exercices de cartographie" names two
        "intent", "ask_migration_development", None, None, (), "quels outils l'oim soutient pour les communes au niveau local ?",
        ("profils migratoires locaux",), (), id="two-things-joined-answer-a-list"),
    pytest.param(  # "... dispositifs de transport difficiles." is followed by its example naming the transport
        "intent", "ask_voluntary_return", "voluntary_return", None, (), "pour le retour volontaire quel moyen de transport est utilisé ?",
        ("vols charters",), (), id="example-after-the-sentence"),
    pytest.param(  # "s'intitulait" asks for a title, not for the sentence using the word "intitulé"
        "intent", "ask_high_level_dialogue", None, None, (), "Comment s'intitulait le deuxième Dialogue de haut niveau ?",
        ("Faire des migrations un atout",), (), id="title-in-quotes"),
    pytest.param(  # "..., et en quelle année s'est tenu le premier ?": the first Dialogue, not the first Summit
        "intent", "ask_high_level_dialogue", None, None, (),
        "Combien d'États participent au Dialogue de haut niveau, et en quelle année s'est tenu le premier ?",
        ("195", "2006"), ("Sommet",), id="second-part-read-with-first-parts-topic"),
    pytest.param(  # "son personnel" points back to the OIM, but "personnel ... terrain" asks a sentence of its own
        "intent", "ask_iom_history", None, None, (),
        "l'oim fetait quel anniversaire en 2016 ? et combien % de son personnel est sur le terrain ?",
        ("65e anniversaire", "90 %"), (), id="second-part-with-words-of-its-own"),
    pytest.param(  # "migration" of "Groupe mondial sur la migration" picks no axis: all are given
        "intent", "ask_global_migration_group", None, None, (),
        "quels sont les axes stratégiques actuels du groupe mondial sur la migration ?",
        ("Migrants en détresse", "Migration de main-d’œuvre"), (), id="whole-list-not-cut-by-topic-word"),
    pytest.param(  # a country the pages never name does not make it "not in the documents": the situation is theirs
        "fallback", "nlu_fallback", None, None, (),
        "Je suis un travailleur étranger au Soudan, les combats ont commencé dans ma ville et mon ambassade ne répond pas.",
        ("évacuations humanitaires",), (), id="war-embassy-evacuation"),
    pytest.param(  # "ça sert à quoi ?" after the Global Migration Group: its aim, not the Dialogue's (same page)
        "intent", "inform", None, "event.global_migration_group", ("le groupe mondial sur la migration c koi",),
        "ça sert à quoi ?", ("interinstitutions",), ("a pour objectif d’examiner",), id="follow-up-topic-own-sentence"),
    pytest.param(  # "le deuxième dialogue" / "c'était quand ?" / "et où ?": not the 195 participating States
        "intent", "inform", None, "event.high_level_dialogues",
        ("le deuxième dialogue de haut niveau sur les migrations", "c'était quand ?"),
        "et où ?", ("New York",), ("Afghanistan",), id="follow-up-of-a-follow-up"),
    pytest.param(  # read by the classifier as eligibility: it asks whom to write to about the topic
        "intent", "ask_programme_eligibility", None, "framework.migration_development",
        ("stratégie institutionnelle de l'OIM sur la migration et le développement durable",),
        "on écrit à qui pour ça ?", ("migration4development@iom.int",), (), id="whom-to-write-to"),
    pytest.param(  # few sentences give a proportion (a rare kind counts more); the migrants' is "sur sept"...
        "intent", "ask_iom_history", None, None, (),
        "D'après l'historique, combien de migrants dans la population mondiale, en proportion ?",
        ("sur sept",), (), id="proportion-of-migrants"),
    pytest.param(  # ...and the staff's "90 %": only a question word next to the figure makes it the answer
        "intent", "ask_presence", None, None, (), "Quelle part du personnel de l'OIM travaille sur le terrain ?",
        ("90 %",), (), id="proportion-of-staff"),
    pytest.param(  # "accueillent" does not bring the evacuations' "États qui accueillent" (far below the best)
        "intent", "inform", None, "programme.resettlement", ("la réinstallation des réfugiés par l'OIM",),
        "et les pays qui en accueillent le plus ?", ("Canada",), (), id="follow-up-word-near-the-best"),
    pytest.param(
        "intent", "inform", None, "programme.resettlement", ("l'OIM fait de la réinstallation ?",),
        "et ils partent surtout vers quels pays ?", ("Canada",), (), id="follow-up-surtout-ranking"),
    pytest.param(  # ...but a name brings its sentence whatever its score: "Genève" the Geneva meeting
        "intent", "inform", None, "event.high_level_dialogues", ("les réunions connexes du dialogue de haut niveau",),
        "y en a eu à genève ?", ("4 juillet 2006",), (), id="follow-up-word-that-is-a-name"),
    pytest.param(  # "dates" is the question's type, not a word of the answer ("Date d'établissement : 2006")
        "intent", "ask_high_level_dialogue", None, None, (), "Premier Dialogue de haut niveau : quelles étaient les dates exactes ?",
        ("14-15 septembre 2006",), ("Date d’établissement",), id="dates-is-no-search-word"),
    pytest.param(  # a list headed by the figure of the very thing counted: "États participants (195 États)"
        "intent", "ask_high_level_dialogue", None, None, (),
        "Combien d'États sont participants au dialogue de haut niveau sur les migrations internationales ?",
        ("195 États",), (), id="count-in-a-list-heading"),
    pytest.param(  # "... ont saisi cette occasion historique ...": which occasion, the sentence before says
        "intent", "inform", None, "org.un_membership", ("l'oim est dans le système des nations unies ?",),
        "c'était à quelle occasion ?", ("Sommet pour les réfugiés et les migrants",), (), id="this-occasion-said-before"),
    pytest.param(  # "de quoi dépend ... ?": the sentence saying what it "est liée à", not one sharing its words
        "intent", "ask_migration_development", None, None, (),
        "De quoi dépend la capacité d'un migrant à contribuer au développement ?",
        ("accéder aux services",), (), id="what-it-depends-on"),
    pytest.param(  # how many migrants in the world: the pages give a share, "une personne sur sept"
        "intent", "ask_presence", None, None, (), "ya combien de migran ds le monde",
        ("une personne sur sept",), (), id="migrants-in-the-world"),
    pytest.param(  # a proportion sentence answers even off any topic and below the usual match
        "out_of_scope", "out_of_scope", None, None, (),
        "Sur la planete il y a a peu pres combien de migrants par rapport aux habitants ?",
        ("une personne sur sept",), ("planete",), id="proportion-off-topic"),
    pytest.param(  # the next paragraph's "... sont autant d'exemples de voies complémentaires" goes on about it
        "intent", "ask_complementary_pathways", "resettlement", None, (),
        "Quelles alternatives légales existent à côté de la réinstallation pour qu'un réfugié rejoigne un pays tiers ?",
        ("Par conséquent, les voies complémentaires", "parrainage communautaire privé"), (), id="examples-in-the-next-paragraph"),
    pytest.param(  # "fait quoi au niveau local ?": a sentence where the OIM acts, not why the local level matters
        "intent", "ask_migration_development", None, None, (),
        "L'approche de l'ensemble de la société, concrètement l'OIM fait quoi au niveau local ?",
        ("profils migratoires locaux",), (), id="what-it-does-about-a-point"),
    pytest.param(  # "l'OIM fait quoi ?" alone asks what the OIM is: its summary
        "intent", "ask_iom_identity", None, None, (), "l oim sa fait koi",
        ("1951",), (), id="what-it-does-alone"),
    pytest.param(  # thanks and wishes after the question name no point the pages lack
        "intent", "ask_iom_history", None, None, (),
        "ce que je voulais savoir c'est l'OIM a été créée en quelle année, merci d'avance et bonne soirée à vous",
        ("1951",), ("soirée", "ne mentionnent pas"), id="wishes-after-the-question"),
    pytest.param(  # SMS "kel" is written out "quel": still when it was founded, not any year
        "intent", "ask_iom_history", None, None, (), "OIM CREE EN KEL ANNEE ???",
        ("1951",), (), id="founded-in-which-year-sms"),
    pytest.param(  # "c'est qui ?" of the topic alone: what it is
        "intent", "ask_iom_identity", None, None, (), "oim c ki",
        ("1951",), ("stratégie institutionnelle",), id="who-is-the-topic-alone"),
    pytest.param(  # "c'est quoi les pays ... en 2019" asks for the countries of that year's sentence
        "intent", "ask_resettlement", None, None, (), "c koi les pays ou loim a fai d la reinstalation en 2019",
        ("Afghanistan",), (), id="which-countries-sms"),
    pytest.param(  # SMS "tavay avk ki": "travaille avec qui"
        "intent", "ask_resettlement", None, None, (), "loim tavay avk ki pr la reinstalation dé refugié",
        ("organisations non gouvernementales",), (), id="works-with-whom-sms"),
    pytest.param(  # two parts, the classifier's topic fits neither: the first names the Dialogues most
        "intent", "ask_making_migration_work", None, None, (),
        "Combien d'États participent au dialogue de haut niveau, et comment s'appelle le programme d'action en huit points ?",
        ("195 États", "Réussir la migration"), (), id="topic-named-most"),
    pytest.param(  # "ne tient pas compte du fait que ..." gives a reason, though without "car" or "parce que"
        "intent", "ask_migration_development", None, None, (),
        "pourquoi une approche seulement nationale ne suffit pas pour la migration ?",
        ("au niveau local",), (), id="reason-without-because"),
    pytest.param(  # "chilienne": the pages say "le Chili en 1973"
        "intent", "ask_iom_history", None, None, (), "L'OIM est intervenue lors de la crise chilienne, c'était en quelle année ?",
        ("1973",), (), id="adjective-of-a-place"),
    pytest.param(  # a situation naming a country gets no list item that is only that country's name
        "intent", "ask_stranded_migrants", None, None, (), "je suis un migrant malien bloqué au niger",
        ("migrants bloqués",), ("États participants",), id="situation-without-a-bare-name-item"),
    pytest.param(  # where the user read it ("sur la page ...") is not a point the pages fail to mention
        "intent", "ask_health_integration", None, None, (),
        "Sur la page historique, on cite un professionnel de la santé qui migre vers la Jordanie : il quitte quel pays ?",
        (), ("« page »", "« cite »"), id="the-page-is-no-gap-word"),
    pytest.param(  # counting offices is not asking for the address of one
        "intent", "ask_presence", None, None, (), "L'OIM dispose de combien de bureaux en dehors de son siège ?",
        ("400 structures hors Siège",), ("ne précisent pas",), id="how-many-offices"),
    pytest.param(  # "jusqu'à quelle date" asks the deadline, which the pages never give
        "intent", "ask_resettlement", None, None, (),
        "Jusqu'à quelle date on peut déposer un dossier de réinstallation vers le Canada ?",
        ("ne précisent pas de date limite",), (), id="until-which-date"),
    pytest.param(  # a long first message read as the topic, asking whom to write to about it
        "intent", "ask_migration_development", None, None, (),
        "Une ONG partenaire a des questions sur la stratégie de l'OIM pour le développement durable, elle écrit à qui ?",
        ("migration4development@iom.int",), (), id="whom-to-write-to-first-message"),
    pytest.param(  # "je contacte qui ?": whom to contact, the words the other way round
        "intent", "ask_council_session", None, None, (),
        "Pour des questions sur le rapport sur l'état de la migration dans le monde présenté au Conseil, je contacte qui au siège ?",
        ("ldoyle@iom.int",), (), id="i-contact-whom"),
    pytest.param(  # "j'écris où ?" asks for an address to write to, not a place
        "intent", "inform", None, "framework.migration_development", ("Comment l'OIM relie migration et développement durable ?",),
        "et pour en savoir plus, j'écris où ?", ("migration4development@iom.int",), (), id="i-write-where"),
    pytest.param(  # a second question naming what another topic's sentence holds, every word of it: that sentence
        "intent", "ask_iom_history", None, None, (),
        "L'OIM existe depuis quelle année et elle a combien de structures hors siège ?",
        ("1951", "400 structures"), ("65e anniversaire",), id="second-question-names-another-topics-sentence"),
    pytest.param(  # two questions read as the second one's topic: the first names another by more words
        "intent", "ask_gfmd", None, None, (),
        "Qui a mis en place le Groupe mondial sur la migration ? Et le FMMD c'est quel genre de plateforme ?",
        ("Secrétaire général", "non contraignante"), (), id="first-question-names-another-topic-by-more-words"),
    pytest.param(  # an e-mail asked, whatever topic the classifier read: that topic's contact card
        "intent", "ask_high_level_dialogue", None, None, (),
        "je veux écrire pour le dialogue de haut niveau sur les migrations, c'est quoi le mail ?",
        ("migrationp@un.org",), ("Le premier a eu lieu",), id="email-asked-of-a-topic"),
    pytest.param(  # "n°1" is the first: the three first countries of resettlement, not the section's opening
        "intent", "ask_resettlement", None, None, (),
        "C'est quoi le pays n°1 de réinstallation et l'OIM aide combien d'États par an à réinstaller ?",
        ("États-Unis", "30 États"), (), id="number-one-is-the-first"),
    pytest.param(  # "phare": the one sentence of the pages using it, before one sharing only "novembre"
        "intent", "ask_council_session", None, None, (),
        "Quel rapport phare l'OIM a présenté pendant son Conseil en novembre ?",
        ("Etat de la migration dans le monde 2020",), (), id="a-word-one-sentence-uses"),
    pytest.param(  # "quand ?" after a question on why it was created: when it was founded
        "out_of_scope", "inform", None, "org.history", ("pourquoi l'OIM a été créée au départ ?",),
        "et c'était quand ?", ("1951",), ("2016",), id="when-after-why-it-was-created"),
    pytest.param(  # the words naming the topic pick no item of its list: the whole list
        "intent", "ask_high_level_dialogue", None, None, (),
        "Quels sont les axes stratégiques actuels du dialogue sur les migrations et le développement ?",
        ("Migrants en détresse", "Image des migrants"), (), id="topic-words-pick-no-list-item"),
    pytest.param(  # the site's menu ("Bureau du Chef de Cabinet") is no part of the Council article
        "intent", "inform", None, "event.council_110", ("Il s'est passé quoi à la 110e session du Conseil de l'OIM ?",),
        "c'est qui le chef ?", ("Vitorino",), ("Cabinet",), id="the-menu-is-not-the-page"),
    pytest.param(  # "début", a word of the language, is not respelt into the cue "débuté" (then a gap)
        "intent", "ask_iom_history", None, None, (),
        "Au tout début, après la guerre, l'OIM avait été montée pour s'occuper de qui ?",
        ("réinstaller des réfugiés",), ("ne mentionnent pas",), id="a-french-word-is-no-cue-typo"),
    pytest.param(  # a decade is its ten years: "le Chili en 1973", not "les 70 dernières années"
        "intent", "ask_iom_history", None, None, (),
        "Dans les années 70, l'OIM est intervenue dans quelles crises ?",
        ("Chili en 1973",), ("70 dernières années",), id="a-decade-is-its-years"),
    pytest.param(  # "une personne sur sept" is a proportion of migrants, asked as "migrante"
        "intent", "ask_presence", None, None, (),
        "Une personne sur combien est migrante aujourd'hui ? et quelle part du personnel de l'OIM est sur le terrain ?",
        ("une personne sur sept", "90 %"), (), id="a-feminine-word-is-near-its-figure"),
    pytest.param(  # a natural disaster is a crisis: the evacuations, not "no information"
        "fallback", "nlu_fallback", None, None, (),
        "notre région a été dévastée par une catastrophe, on a dû quitter nos maisons et on est déplacés dans notre propre pays",
        ("évacuations humanitaires",), ("pas cette information",), id="displaced-by-a-disaster"),
    pytest.param(  # a refugee who wants to study abroad: the complementary pathways (scholarships)
        "fallback", "nlu_fallback", None, None, (),
        "je suis réfugié au Kenya, j'ai fini le lycée et je voudrais faire l'université dans un autre pays",
        ("bourses d’études", "voies complémentaires"), ("lycée",), id="refugee-wants-to-study"),
    pytest.param(  # a town hall: the summary, then the closest sentence sharing enough words with the case
        "fallback", "nlu_fallback", None, None, (),
        "je suis adjoint au maire, on reçoit beaucoup de nouveaux arrivants et nos plans locaux n'en tiennent pas compte, l'OIM peut nous aider ?",
        ("profils migratoires locaux",), ("ne mentionnent pas",), id="town-hall-with-newcomers"),
    pytest.param(  # a hashtag asked: the page's "#formigration", a kind of answer few units show
        "intent", "ask_iom_identity", None, None, (),
        "C'est quoi le hashtag que l'OIM utilise pour défendre la migration ?",
        ("#formigration",), (), id="the-hashtag"),
    pytest.param(  # "thèmes ... aujourd'hui" are the pages' "Axes stratégiques actuels" (search_words.yml)
        "intent", "ask_high_level_dialogue", None, None, (),
        "Sur quels thèmes travaille le dialogue de haut niveau aujourd'hui ?",
        ("Traite d’êtres humains", "Migrants en détresse"), (), id="themes-today-are-current-axes"),
    pytest.param(  # "voir" the migrants is the speech's "perçus" (search_words.yml)
        "intent", "ask_leadership", None, None, (),
        "comment le directeur général veut qu'on voie les migrants ?",
        ("partenaires déterminés",), (), id="seen-as-is-perceived-as"),
    pytest.param(  # "États" alone names the member states; a resettlement sentence holds all the second part asks
        "intent", "ask_resettlement", "resettlement", None, (),
        "les trois premiers pays de réinstallation c'était lesquels, et l'OIM aide combien d'États ?",
        ("30 États",), ("166",), id="second-question-stays-on-the-topic"),
    pytest.param(  # a reason told without "car": the topic's sentence matching the question well answers it
        "intent", "ask_migration_development", None, None, (),
        "pourquoi le Pacte mondial dit que la migration ne peut pas être gérée par un seul ministère ?",
        ("réalité multidimensionnelle",), (), id="a-reason-without-a-marker"),
    pytest.param(  # the setting before the comma names the topic; what follows it ranks the sentences
        "intent", "ask_council_session", None, None, (),
        "Lors de la réunion du Conseil de l'OIM à Genève, une discussion concernait les déplacements dans quelle zone d'Afrique ?",
        ("Sahel",), (), id="the-setting-ranks-nothing"),
    pytest.param(
        "fallback", "nlu_fallback", None, None, (),
        "Dans le texte sur les 65 ans de l'OIM, l'exemple du professionnel de santé qui migre, il part d'où et va où ?",
        ("Malaisie", "Jordanie"), (), id="the-setting-of-an-example"),
    pytest.param(  # a word no page uses, no topic: the gap, then the sentence that still answers
        "fallback", "nlu_fallback", None, None, (),
        "c'est quoi le slogan de la campagne de l'oim pour la dignité de l'humanité ?",
        ("« slogan »", "dignit"), (), id="gap-then-the-sentence-without-topic"),
    pytest.param(  # the only units showing a hashtag answer, whatever else the question names
        "fallback", "nlu_fallback", None, None, (),
        "c'est quoi le hashtag de la campagne de l'oim pour la migration ?",
        ("#formigration",), (), id="the-hashtag-whatever-else-is-named"),
    pytest.param(  # who goes first: the sentence on the cases more of a priority (aspect priority)
        "intent", "inform", None, "programme.voluntary_return", ("Pour le retour volontaire, comment l'OIM examine-t-elle chaque dossier ?",),
        "et qui passe en premier ?", ("plus prioritaires",), (), id="who-goes-first"),
    pytest.param(  # "premier" asked about is no question word for all that ("qui passe en premier")
        "intent", "ask_high_level_dialogue", None, None, (),
        "Le premier Dialogue, il y avait combien de tables rondes ?", ("quatre tables rondes",), (), id="the-first-dialogue"),
    pytest.param(  # no topic yet, words around the question thin the scores: the topic ranked first is searched
        "intent", "ask_programme_eligibility", None, None, (),
        "pour rentrer de libye, ils regardent quoi comme critères pour accepter quelqu'un ?",
        ("aptitude médicale",), ("ne précisent pas",), id="criteria-with-no-topic-yet"),
    pytest.param(  # ... but not when it asks of something no page names (the kilos of luggage one has "droit à")
        "intent", "ask_programme_eligibility", None, None, (),
        "sur les vols charters de l'OIM, on a droit à combien de kilos de bagages ?",
        ("ne précisent pas",), ("aptitude médicale",), id="no-criteria-for-a-point-no-page-names"),
    pytest.param(  # "à la demande de qui ?": the sentence saying "à la demande de <someone>", not "une demande d'asile"
        "intent", "ask_voluntary_return", None, "programme.voluntary_return", (),
        "Quand l'OIM fait la consultation pour le retour volontaire, elle évalue quoi ? Et le retour se fait à la demande de qui ?",
        ("évaluation des risques", "à la demande de la personne qui rentre"), (), id="the-frame-of-who-echoed"),
    pytest.param(  # a year asked of the one sentence naming a place is no case told, though words tell of one
        "intent", "ask_iom_history", None, None, (),
        "Ma grand-mère a quitté la Tchécoslovaquie avec l'aide de l'OIM, c'était en quelle année cette crise-là ?",
        ("la Tchécoslovaquie en 1968",), ("votre situation",), id="a-fact-of-a-rare-place-in-a-story"),
    pytest.param(  # whose duty it is: the sentence saying whose responsibility (question type responsible)
        "intent", "inform", None, "programme.evacuation", ("Est-ce que l'OIM organise des évacuations quand il y a une guerre ?",),
        "normalement c'est à qui de s'en charger ?", ("relèvent de la responsabilité des États",), (), id="whose-duty"),
    pytest.param(  # "s'appelait comment" asks a title ...
        "intent", "ask_high_level_dialogue", None, None, (),
        "le deuxième dialogue de haut niveau s'appelait comment ?", ("Faire des migrations un atout",), (), id="named-how"),
    pytest.param(  # ... "il s'appelle comment" a person's name
        "intent", "inform", None, "event.council_110", ("Le directeur général de l'OIM a fait un discours au Conseil annuel",),
        "il s'appelle comment ?", ("Vitorino",), (), id="he-is-named-how"),
    pytest.param(  # what the OIM does about the topic named, in words of its summary: the summary
        "intent", "ask_resettlement", "resettlement", None, (),
        "Pouvez-vous m'expliquer ce que fait l'OIM en matière de réinstallation des réfugiés ?",
        ("La réinstallation permet",), ("stratégie institutionnelle",), id="what-the-oim-does-about-a-topic"),
    pytest.param(  # what the OIM "calls" the topic named is what it is
        "intent", "ask_complementary_pathways", "complementary_pathways", None, (),
        "Qu'est-ce que l'OIM appelle les voies complémentaires d'admission des réfugiés ?",
        ("Les voies complémentaires sont",), ("aide au rapatriement volontaire",), id="what-the-oim-calls-a-topic"),
    pytest.param(  # the user's own work is no point the pages miss; the rare words asked pick the sentence
        "intent", "nlu_fallback", "resettlement", None, (),
        "Pour préparer un atelier, je veux savoir dans quelles régions du monde les gens entreprennent des "
        "périples incertains, selon la page de l'OIM sur la réinstallation.",
        ("Méditerranée",), ("ne mentionnent pas",), id="rare-words-beside-the-topic-named"),
    pytest.param(  # a heading holds the rare word asked ("Secrétariat"), not another sentence's look-alike
        "intent", "ask_high_level_dialogue", None, None, (),
        "Quelle entité assure le secrétariat du Dialogue de haut niveau sur les migrations internationales ?",
        ("Division de la population du DAES",), ("Groupe mondial",), id="rare-word-in-a-heading"),
    pytest.param(  # what something is for: its objective, in the words a page says it with
        "intent", "ask_high_level_dialogue", None, None, (),
        "Le Dialogue de haut niveau date de quand, et il sert à quoi ?",
        ("2006", "maximiser les avantages"), (), id="what-it-is-for"),
    pytest.param(  # ... or what it allows ("qui permet aux États de faire face ...")
        "intent", "nlu_fallback", None, "programme.relocation", ("Expliquez-moi la relocalisation dont parle l'OIM",),
        "ça sert à quoi pour les États ?", ("systèmes d'asile",), (), id="what-it-is-for-them"),
    pytest.param(  # "s'est-il adressé" is no request for an address
        "intent", "ask_member_states", None, None, (),
        "Deux points pour mon compte rendu : à combien d'États membres le directeur général s'est-il adressé "
        "lors du Conseil, et quel pays a vu sa demande d'adhésion acceptée ?",
        ("173", "Liban"), ("migration4development",), id="addressed-is-no-address"),
    pytest.param(  # the year written by the one place the pages name so
        "fallback", "nlu_fallback", None, None, (),
        "Hello teacher here, the IOM a aidé en Hongrie en quelle année, por favor ?",
        ("1956",), ("pas cette information",), id="year-by-a-rare-place"),
    pytest.param(  # a noun one sentence uses, asked with a type it shows, wherever that sentence is
        "intent", "ask_health_integration", None, None, (),
        "Dans l'exemple du professionnel de la santé qui migre, il part de quel pays pour aller où ?",
        ("Malaisie", "Jordanie"), (), id="rare-noun-beside-the-topic-read"),
    pytest.param(  # ... a noun: "l'OIM" (no page word, so "rare") picks nothing
        "intent", "ask_council_session", None, None, (),
        "pendant la session du conseil quel pays a voulu rentrer dans l'oim ?",
        ("Liban",), ("retour volontaire",), id="the-oim-is-no-rare-noun"),
    pytest.param(  # whom a speaker had in mind: the people the sentence is about
        "intent", "ask_council_session", None, None, (),
        "Au Conseil, le directeur général a parlé de cas très graves où les pays n'ont pas de structures "
        "d'accueil de base. Il pensait à qui ?", ("mineurs non accompagnés",), (), id="whom-a-speaker-had-in-mind"),
    pytest.param(  # "il avait un titre ?" asks a title, not a residence permit ("titre de séjour")
        "intent", "ask_asylum_visa", None, "event.high_level_dialogues",
        ("parle moi du deuxième dialogue de haut niveau sur les migrations",), "il avait un titre ?",
        ("Faire des migrations un atout",), ("asile",), id="had-it-a-title"),
    pytest.param(  # "s'inscrit dans quel cadre" asks what it fits in, not how to register
        "intent", "ask_migration_development", None, "framework.migration_development",
        ("Je cherche des infos sur la stratégie de l'OIM en matière de migration et de développement durable.",),
        "Elle s'inscrit dans quel cadre ?", (), ("s'inscrire",), id="fits-in-is-no-registration"),
    pytest.param(  # a stranded migrant's story gets the page's own list of how one gets stranded
        "intent", "ask_stranded_migrants", None, None, (),
        "je suis au Maroc, le patron m'avait promis un travail, il m'a jamais payé et il m'a chassé. "
        "j'ai plus rien, pas d'argent pour rentrer. c'est quoi l'aide pour moi ?",
        ("migrants bloqués", "employeurs mal intentionnés"), (), id="stranded-story-gets-the-pages-reasons"),
    pytest.param(  # a year's count asked beside the story: the case's words do not rank for it
        "intent", "ask_stranded_migrants", None, None, (),
        "Je suis de Goma, j'ai tout perdu avec les violences et je me demande si l'OIM peut vraiment aider des gens "
        "comme nous ou si c'est juste des promesses. Combien de bénéficiaires l'organisation a aidé en 2018 ?",
        ("30 millions",), (), id="year-count-beside-a-story"),
    pytest.param(  # "les plus quoi ?": the sentence saying "les plus <adjective>"
        "intent", "ask_stranded_migrants", None, "programme.stranded_migrants",
        ("le fonds pour les migrants bloqués il donne quel type d'aide ?",), "il aide les migrants les plus quoi ?",
        ("les plus vulnérables",), (), id="superlative-left-blank"),
    pytest.param(  # "au lieu d'attendre" is no question on a delay
        "intent", "ask_complementary_pathways", None, None, (),
        "je suis refugié au kenya, j'ai eu mon bac. je veux continuer mes études à l'université dans un autre pays "
        "au lieu d'attendre la réinstallation qui vient jamais. ya un moyen légal ?",
        ("bourses d'études",), ("combien de temps",), id="instead-of-waiting-is-no-delay"),
    pytest.param(  # "événement" is a word of phrasing, no point the pages fail to name
        "intent", "ask_iom_history", None, None, (), "l'oim elle a été créée a cause de quel evenement historique ?",
        ("Seconde Guerre mondiale",), ("ne mentionnent pas",), id="event-is-a-word-of-phrasing"),
    pytest.param(  # "sur quels sujets ?" adds no word of its own: a follow-up on the Dialogue
        "intent", "ask_capabilities", None, "event.high_level_dialogues",
        ("le premier dialogue de haut niveau des nations unies sur les migrations en 2006",),
        "les tables rondes c'était sur quels sujets ?", ("droits des migrants",), (), id="on-which-subjects-follow-up"),
    pytest.param(  # "et pendant le voyage ?" turns to another side: ranked on its own words
        "intent", "ask_movement_assistance", None, "programme.movement_assistance",
        ("Qu'est-ce que l'aide au mouvement de l'OIM ?",), "et pendant le voyage ?",
        ("escortes médicales",), (), id="and-during-the-journey-turns-to-it"),
    pytest.param(  # ... as does "et pour les migrants eux-mêmes ?" after the local policies
        "intent", "ask_migration_development", None, "framework.migration_development",
        ("Comment l'OIM fait pour intégrer la migration au niveau local ?",), "et pour les migrants eux-mêmes ?",
        ("accéder aux services",), (), id="and-for-the-migrants-themselves"),
    pytest.param(  # the first of two questions split off its "?": its story's words are no point asked
        "intent", "ask_iom_identity", None, None, (),
        "Mon frère a 23 ans, il est en Allemagne depuis deux ans et à chaque repas de famille mon oncle dit que les "
        "migrants sont un fardeau. Ça me met en colère. Comment l'OIM voit les migrants, elle, dans ses textes ? "
        "Quels mots elle utilise pour les décrire ?", (), ("repas", "fardeau"), id="story-words-of-a-split-question"),
    pytest.param(  # "remplacer" finds "des alternatives"
        "intent", "ask_complementary_pathways", None, None, (),
        "Pourquoi vous parlez tout le temps de voies légales pour les réfugiés, c'est pour remplacer quoi comme trajets ?",
        ("dangereux et irréguliers",), (), id="replace-finds-alternatives"),
    pytest.param(  # "90 % sur le terrain": a figure in digits stands by the question's words
        "intent", "ask_presence", None, None, (),
        "Aujourd'hui, combien de personnes sur combien sont migrantes selon l'OIM ? Et quelle part de son personnel est sur le terrain ?",
        ("sur sept", "90 %"), (), id="a-share-in-digits-stands-by-its-words"),
    pytest.param(  # "depuis 1951" answers "depuis quelle année" in its own terms
        "intent", "ask_presence", None, None, (),
        "l'OIM elle travaille depuis quelle année pour les migrations et aussi combien de son personnel est sur le terrain",
        ("depuis 1951", "90 %"), ("L’année 2016",), id="since-what-year-stated-as-since"),
    pytest.param(  # offices named, a share asked: no address gap
        "intent", "ask_presence", None, None, (),
        "est ce que les gens de l'OIM ils sont surtout dans les bureaux à Genève ou sur le terrain avec nous c'est quoi la proportion",
        ("90 %",), ("adresse",), id="offices-named-a-share-asked"),
    pytest.param(  # "le sigle" is a word of phrasing, not a point the pages miss
        "intent", "ask_resettlement", "resettlement", None, (), "Que signifie le sigle CRISP dans les activités de réinstallation ?",
        ("voies complémentaires durables",), ("sigle",), id="acronym-is-a-phrasing-word"),
    pytest.param(  # "quels avantages ?": the sentence naming them, not the one sharing the clause before
        "intent", "ask_migration_development", None, None, (),
        "Si la migration est mal gérée, l'OIM dit qu'elle peut avoir quel effet ? Et quand elle est bien gérée, quels avantages elle apporte ?",
        ("impact négatif", "diversité culturelle"), (), id="which-kind-named-by-the-sentence"),
    pytest.param(  # "obligatoire" finds "non contraignante"
        "intent", "ask_gfmd", None, "event.gfmd", ("le forum mondial sur la migration et le développement c'est quoi ça",),
        "c'est obligatoire pour les pays", ("non contraignante",), (), id="compulsory-finds-binding"),
    pytest.param(  # "vivent", "envoient de l'argent": the diaspora's case, told of one's relatives
        "intent", "ask_migration_development", None, None, (),
        "Mes parents vivent en France et envoient de l'argent au pays, et mon oncle aide son village avec ce qu'il a "
        "appris ici. L'OIM dit quoi de ça pour le développement ?", ("diaspora",), (), id="diaspora-told-of-relatives"),
    pytest.param(  # "le conseil oim nov 2019": the year names the session, its sentences need not repeat it
        "intent", "ask_council_session", None, None, (), "le conseil oim nov 2019 ca a dure cb de jrs",
        ("trois jours",), ("ne précisent pas",), id="a-year-naming-the-topic"),
    pytest.param(  # ... not a year after another word: "en 2018" is the figure's
        "intent", "ask_council_session", None, None, (), "combien de bénéficiaires l'OIM a aidé en 2018 selon le conseil ?",
        ("30 millions",), (), id="a-year-of-the-figure-asked"),
    pytest.param(  # the one hashtag of the pages, whatever story words are around the question
        "fallback", DEFAULT_NLU_FALLBACK_INTENT_NAME, None, None, (),
        "Bonjour 👋👋 Une ado du foyer veut partager une campagne de l'OIM sur les réseaux… c'est quoi leur hashtag ?!?",
        ("#formigration",), ("foyer",), id="hashtag-beside-story-words"),
    pytest.param(  # "c 1 sur cb" follows up on the question before it; few sentences give a share
        "intent", "ask_beneficiaries", None, None, (), "c vrai ke bcp de gens sont migrants? c 1 sur cb",
        ("une personne sur sept",), (), id="a-share-asked-of-the-question-before"),
    pytest.param(  # "langue" is a word of its own, not a typo of the pages' "longue"
        "intent", "ask_health_integration", None, None, (), "l'oim donne des cours de langue aux migrants qui arrivent ?",
        ("« langue »",), (), id="a-word-one-letter-from-a-page-word"),
    pytest.param(  # "est-ce qu'il y aura ... ?" asks whether; "suivi" finds "escortes"
        "intent", "ask_resettlement", "resettlement", None, (),
        "Mon père a des problèmes de santé et il va partir dans le cadre d'une réinstallation organisée par l'OIM. "
        "Est-ce qu'il y aura un suivi médical pendant le voyage ?", ("escortes médicales",), (), id="whether-there-will-be"),
    pytest.param(  # "forom": a typo of the pages' "forum" the language model knows, no point they miss
        "intent", "ask_gfmd", None, None, (),
        "euh bon alors voilà heu ma question c'est le truc là le forom mondial migrassion developement FMMD c'est quoi ??",
        ("Forum mondial sur la migration et le développement",), ("forom",), id="a-typo-the-model-knows"),
]


@pytest.mark.parametrize(("mode", "intent", "programme", "topic", "before", "text", "expected", "absent"), ASKED)
def test_a_question_gets_what_answers_it(
    kb: KnowledgeBase, index: SentenceIndex, mode: str, intent: str, programme: str | None, topic: str | None,
    before: tuple[str, ...], text: str, expected: tuple[str, ...], absent: tuple[str, ...],
) -> None:  # fmt: skip
    _, shown = respond(kb, index, mode, intent=intent, programme=programme, topic=topic, before=before, text=text)
    assert all(e in shown for e in expected), shown
    assert not any(a in shown for a in absent), shown


def test_a_country_typed_otherwise_is_found_as_the_pages_write_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"irak" typed, the entity "Iraq" as the pages write it: the sentences naming Iraq are searched."""
    _, shown = respond(kb, index, intent=DEFAULT_NLU_FALLBACK_INTENT_NAME, text="loim en irak c t kel annee",
                       country="Iraq", country_said="irak")
    assert "Iraq" in shown, shown


def test_a_teller_and_where_the_user_is_are_their_story(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Who told them ("un monsieur m'a dit que") is no point the pages miss, where they are (Niger)
    no place a sentence must name, and "quelle guerre ?" is answered by the sentence naming it."""
    text = ("bonjour moi je suis au Niger en ce moment et un monsieur m'a dit que l'OIM c'est né après une guerre "
            "c'est vrai ça quelle guerre exactement")
    _, shown = respond(kb, index, intent="ask_iom_identity", text=text, country="Niger", country_said="Niger")
    assert "Seconde Guerre mondiale" in shown and "monsieur" not in shown, shown


def test_a_year_told_by_its_last_two_digits(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"en 75": the year the pages write 1975 (the classifier unsure, the history ranked first)."""
    _, shown = respond(kb, index, "fallback", intent=DEFAULT_NLU_FALLBACK_INTENT_NAME, text="en 75 l oim a aidé ki",
                       ranked_intents=("ask_iom_history",))
    assert "boat people vietnamiens en 1975" in shown, shown


def test_an_english_courtesy_word_is_no_point_the_pages_miss(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, shown = respond(kb, index, "fallback", intent=DEFAULT_NLU_FALLBACK_INTENT_NAME,
                       text="what is le Pacte mondial sur les migrations please??")
    assert "please" not in shown, shown


def test_the_second_one_after_the_first_told(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et le deuxième c'était quand ?" after the first Dialogue's year: the first's ordinal and year
    rank nothing for the second."""
    first = "le premier dialogue de haut niveau sur les migrations c'était en 2006 à New York"
    _, given = respond(kb, index, intent="ask_high_level_dialogue", text=first)
    _, shown = respond(kb, index, "fallback", intent=DEFAULT_NLU_FALLBACK_INTENT_NAME, topic="event.high_level_dialogues",
                       before=(first,), text="et le deuxième c'était quand", previous_reply=given)
    assert "3-4 octobre 2013" in shown and "14-15 septembre 2006" not in shown, shown


def test_asylum_after_a_programme_gets_its_sentence_on_asylum(kb: KnowledgeBase) -> None:
    """Asylum asked after the voluntary return: the programme's sentence on asylum, then no promise."""
    text = "et si moi je veux demander l'asile au lieu de rentrer"
    turn = Turn(intent="ask_asylum_visa", text=text, topic="programme.voluntary_return", said=("conseils ?", text))
    shown = render(actions_module._small_talk(kb, turn, DOMAIN))
    assert "évaluation des risques" in shown and "Je ne peux rien promettre" in shown, shown


def test_a_question_naming_the_oim_alone_beside_another_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The message read as the Council session: its first question names the OIM alone ("depuis
    quand ?"), so it is on the organisation, not the session; the second on the session."""
    text = "L'OIM elle fait ça depuis quand, et c'est qui le directeur général qui a parlé au Conseil ?"
    _, shown = respond(kb, index, intent="ask_council_session", text=text,
                       ranked_intents=("ask_council_session", "ask_leadership"))
    assert "1951" in shown and "Vitorino" in shown, shown


def test_since_when_before_an_inverted_verb_asks_the_founding(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Read as its UN membership, a message asking since when the OIM exists too: "depuis quand"
    asks even before an inverted verb ("existe-t-elle"), so the first question gets the founding."""
    text = ("Depuis quand l'OIM existe-t-elle, et en quelle année est-elle entrée officiellement dans le système "
            "des Nations Unies ?")
    _, shown = respond(kb, index, intent="ask_un_membership", text=text,
                       ranked_intents=("ask_un_membership", "ask_iom_history"))
    assert "1951" in shown and "faire entrer officiellement" in shown, shown
    assert shown.index("1951") < shown.index("2016"), shown  # each question answered in its turn


def test_whose_duty_after_a_summary_saying_it_in_other_words(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"mais c'est à qui que ça revient ?" after the evacuations' summary: the sentence saying whose
    responsibility they are (the type's terms), not one sharing the first message's "met en œuvre"."""
    first = "On m'a parlé des évacuations humanitaires internationales que l'OIM met en œuvre."
    _, given = respond(kb, index, intent="ask_evacuation", programme="evacuation", text=first)
    _, shown = respond(kb, index, intent="ask_programme_eligibility", topic="programme.evacuation",
                       programme_slot="evacuation", before=(first,), text="mais c'est à qui que ça revient, en principe ?",
                       previous_reply=given)
    assert "relèvent de la responsabilité des États" in shown, shown


def test_what_the_organisation_is_then_since_when(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Two questions naming only the OIM, the classifier unsure: what it is (its identity, ranked
    first), then since when, not a strategy sentence saying "l'OIM" twice."""
    _, shown = respond(kb, index, intent="nlu_fallback", text="c'est quoi l'OIM exactement et ça existe depuis quand ?",
                       ranked_intents=("ask_iom_identity", "ask_iom_history"))
    assert "organisation intergouvernementale" in shown and "1951" in shown, shown
    assert "stratégie institutionnelle" not in shown, shown


def after_reply(kb: KnowledgeBase, index: SentenceIndex, first: str, intent: str, topic: str, text: str) -> tuple[str, str]:
    """(reply to `first` read as `intent`, reply to the follow-up `text` on `topic` right after it)."""
    _, given = respond(kb, index, intent=intent, text=first)
    _, shown = respond(kb, index, intent="inform", topic=topic, before=(first,), text=text, previous_reply=given)
    return given, shown


def test_a_followup_word_only_a_sentence_or_two_use(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A follow-up bringing one word that one or two sentences of the pages use is answered by that
    sentence, though the summary's words rank others higher."""
    _, shown = after_reply(kb, index, "c'est quoi le Forum mondial sur la migration et le développement ?",
                           "ask_gfmd", "event.gfmd", "et qui le pilote ?")
    assert "pilotée par les États" in shown, shown
    _, shown = after_reply(kb, index, "l'OIM aide les gouvernements sur migration et développement ?",
                           "ask_migration_development", "framework.migration_development",
                           "et la diaspora dans tout ça ?")
    assert "faire participer leur diaspora" in shown, shown


def test_the_year_of_a_thing_named_after_a_question_on_the_creation(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et le Kosovo c'était en quelle année ?" after "... depuis sa création ?": the year of that
    crisis (1999), not the founding nor "the pages do not give this date". The crises asked are the
    pages' "catastrophes" (search_words.yml)."""
    first = "Dans quelles grandes crises l'OIM est intervenue depuis sa création ?"
    reply, given = respond(kb, index, intent="ask_iom_history", text=first)
    _, shown = respond(kb, index, intent="ask_iom_history", country="Kosovo", topic=reply.slots.get("topic"),
                       before=(first,), text="et le Kosovo c'était en quelle année ?", previous_reply=given)
    assert "1999" in shown and "ne précisent pas" not in shown, shown


def test_two_questions_the_classifier_was_unsure_of_get_its_ranked_topics(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Unsure of the whole message, the classifier ranked the UN membership and the history: the
    question whose words the history's summary speaks of ("créée") is answered as the history."""
    text = "A la base l'OIM a été créée pour faire quoi ? et elle est entrée dans le système de l'ONU en quelle année ?"
    _, shown = respond(kb, index, "fallback", intent="nlu_fallback", text=text,
                       ranked_intents=("ask_un_membership", "ask_iom_history"))
    assert "réinstaller des réfugiés" in shown, shown
    assert actions_module.ranked_intents({"intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.5}, {"name": "ask_un_membership", "confidence": 0.82},
        {"name": "ask_iom_history", "confidence": 0.17}, {"name": "greet", "confidence": 0.01},
    ]}) == ("ask_un_membership", "ask_iom_history")
    assert actions_module.ranked_intents({}) == ()


def test_a_ranking_asked_again_is_given_again(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The summary just named "les trois premiers pays": asked which countries "surtout", that
    sentence is given again, not a fresh one that ranks nothing. Asked which countries a topic
    helps "surtout", its sentence ranking them ("les plus touchés") leads."""
    given, shown = after_reply(kb, index, "qu'est-ce que l'OIM fait pour réinstaller les réfugiés ?",
                               "ask_resettlement", "programme.resettlement", "et ils partent surtout vers quels pays ?")
    assert "trois premiers pays" in given and "trois premiers pays" in shown, shown
    # "UE" is the initials of the title's "Union européenne": the topic itself, its summary.
    given, shown = after_reply(kb, index, "La relocalisation dans l'UE", "ask_relocation", "programme.relocation",
                               "elle vise à soulager surtout quels pays ?")
    assert given.startswith("La relocalisation se fait dans l’Union européenne"), given
    assert "frontières extérieures" in shown.split("\n")[0], shown
    # Naming nothing new, the follow-up is about the topic: not the return's "L'OIM aide ... pays".
    _, shown = after_reply(kb, index, "la relocalisation en europe c'est quoi", "ask_relocation",
                           "programme.relocation", "ça aide quels pays surtout ?")
    assert "frontières extérieures" in shown.split("\n")[0], shown


def test_the_third_of_a_list_just_given_is_that_list_again(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et le troisième c'est lequel ?" after "les trois premiers pays ... étaient A, B et C": that
    sentence again, not "the pages do not mention « troisième »"; "et le troisième ?" after a reply
    listing nothing still says the pages know no third."""
    given, shown = after_reply(kb, index, "quels pays ont reçu le plus de réfugiés réinstallés ?", "ask_resettlement",
                               "programme.resettlement", "et le troisième c'est lequel ?")
    assert "l'Australie" in given, given
    assert "l'Australie" in shown and "ne mentionnent pas" not in shown, shown
    _, shown = respond(
        kb, index, intent="inform", topic="event.high_level_dialogues", before=("c'est quoi le dialogue de haut niveau",),
        text="et le troisième ?", previous_reply="Le premier a eu lieu les 14 et 15 septembre 2006 à New York.",
    )  # fmt: skip
    assert "ne mentionnent pas" in shown, shown


def test_how_people_travel_is_the_sentence_naming_the_means(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The transport aspect (answering.yml): the sentence naming the means of transport, from the
    page of the topic when it names the place asked about; a follow-up on the return gets it too."""
    _, shown = respond(
        kb, index, intent="ask_movement_assistance", country="Libye",
        text="pour ramener les migrants depuis la libye l'oim utilise quel transport ?",
    )  # fmt: skip
    assert "vols charters" in shown and "ne précisent pas" not in shown, shown
    _, shown = respond(
        kb, index, intent="inform", topic="programme.voluntary_return",
        before=("c'est quoi le retour humanitaire volontaire ?",), text="et ils rentrent comment, en avion ?",
    )  # fmt: skip
    assert "vols charters" in shown, shown


@pytest.mark.parametrize(
    ("typed", "french"),
    [
        ("when was IOM founded?", "quand OIM créée ?"),
        ("hello my friend, please when OIM was founded ? merci beaucoup", "quand OIM créée ?"),
        ("the IOM Council 110th session, it opened on which day ?", "OIM Conseil 110e session ouverte quel jour ?"),
        ("does IOM help stranded migrants in Libya go back home?", "OIM aide bloqués migrants en Libye rentrer ?"),
        ("where is the IOM headquarters", "où OIM siège"),
        # mixed: a French word of the pages is kept, "l'OIM" read as "OIM"
        ("Hello, sorry my French is bad... where is le siège de l'OIM ? merci beaucoup", "où siège OIM ?"),
        ("hello how are you", None),  # one glossary word: nothing to search with
        ("¿Cuándo fue fundada la OIM?", "quand créée OIM ?"),  # Spanish: its own glossary
        ("Wie viele Mitgliedstaaten hat die IOM?", "combien États membres OIM ?"),  # German
        ("hola como estas", None),
    ],
)
def test_an_english_question_is_read_in_the_pages_french(
    kb: KnowledgeBase, index: SentenceIndex, typed: str, french: str | None
) -> None:
    assert kb.answering.from_foreign(typed, lambda word: index.knows(fold(word))) == french


def test_a_german_question_gets_what_the_french_pages_say(kb: KnowledgeBase) -> None:
    """"Hallo, wann wurde die IOM gegründet?": the German glossary reads it; the French pages answer."""
    text = "Hallo, wann wurde die IOM gegründet?"
    reply = focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN)
    assert reply.messages[0]["response"] == "utter_other_language_answer" and "1951" in render(reply)


def test_an_english_question_gets_what_the_french_pages_say_after_saying_so(kb: KnowledgeBase) -> None:
    text = "Hello, does IOM help stranded migrants in Libya go back home?"
    reply = focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN)
    assert reply.messages[0]["response"] == "utter_other_language_answer"
    assert "retour humanitaire volontaire" in render(reply)
    text = "when was OIM founded ?"
    assert "1951" in render(focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN))
    text = "How can I contact IOM by email?"  # the contacts, as "comment contacter l'OIM par courriel ?"
    assert "@" in render(focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN))
    text = "Where is the IOM office in Tunisia?"  # what the pages do not give, said so
    assert "ne précisent pas l'adresse d'un bureau" in render(
        focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN))
    text = "what is the weather like in Paris today?"  # nothing of the pages: "please ask in French" alone
    assert focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN).messages == []


def test_a_count_follow_up_answered_only_by_the_sentence_just_given_gets_it_again(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """"ça touche combien de gens par an ?": the people reached, not a salary; and the sentence already
    given says it ("des centaines"), so it is said again, never "the pages do not give this figure"."""
    given = ("Par l'intermédiaire de ce programme, l'OIM aide chaque année des centaines de migrants en détresse "
             "les plus démunis et les plus vulnérables.")
    _, text = respond(kb, index, intent="inform", text="ça touche combien de gens par an ?",
                      topic="programme.stranded_migrants", before=("comment marche l'aide aux migrants bloqués ?",),
                      previous_reply=given)
    assert "des centaines de migrants" in text and "salaire" not in text and "ne précisent pas" not in text


def test_a_pronoun_question_on_a_figure_of_the_sentence_just_given_gets_that_sentence(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """"il a parlé devant combien d'États ?": the 173 of the sentence just given, not the Dialogue's 195."""
    given = (
        "Genève - Le Directeur général de l’OIM, António Vitorino, s’est addressé aux 173 Etats membres de l’Organisation "
        "à l’occasion de la session annuelle du Conseil de l’OIM qui s’est ouvert aujourd’hui, 26 novembre, à Genève."
    )
    _, text = respond(kb, index, intent="ask_member_states", text="il a parlé devant combien d'Etats ?",
                      topic="event.council_110", before=("qui dirigeait l'OIM pendant la 110ème session du Conseil ?",),
                      previous_reply=given)
    assert "173" in text and "195" not in text


def test_elle_after_a_message_naming_the_session_is_the_session(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"la session du Conseil de l'OIM" / "elle a duré combien de temps ?": not the OIM's history."""
    reply, text = respond(
        kb, index, "intent", intent="ask_iom_history", text="elle a duré combien de temps ?",
        topic="event.council_110", before=("La session annuelle du Conseil de l'OIM en novembre",),
    )  # fmt: skip
    assert "trois jours" in text and "Histoire" not in text
    assert reply.slots.get("topic") == "event.council_110"


def test_a_pronoun_in_the_second_question_stands_for_what_the_first_named(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, "intent", intent="ask_iom_history", text="qui dirige l'OIM et elle a été créée quand ?")
    assert "Vitorino" in text and "Seconde Guerre mondiale" in text
    assert text.count("s’est addressé aux 173 Etats membres") == 1


def test_an_example_follow_up_gets_the_examples(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, "small_talk", intent="ask_capabilities", text="genre quoi ?",
                      topic="programme.complementary_pathways", before=("les voies complémentaires",))
    assert "visas humanitaires" in text and "Source :" in text


@pytest.mark.parametrize(
    ("question", "intent", "expected"),
    [
        ("en quelle année l'OIM a été fondée ?", "ask_iom_history", "depuis 1951"),
        ("loim ele existe depui qd", "ask_iom_history", "depuis 1951"),
        ("le groupe mondial sur la migration a été créé quand ?", "ask_global_migration_group", "2006"),
    ],
)
def test_when_something_began_is_the_sentence_giving_its_year(
    kb: KnowledgeBase, index: SentenceIndex, question: str, intent: str, expected: str
) -> None:
    # Not the first sentence with any year ("L'année 2016 ... 65e anniversaire de l'OIM").
    _, text = respond(kb, index, intent=intent, text=question)
    assert expected in text.split("\n")[0]
    assert analyse(kb.answering, question).evidence == "founding"


@pytest.mark.parametrize(
    ("before", "question", "expected", "not_expected"),
    [
        ("le premier dialogue de haut niveau", "ça a donné quoi ?", "Forum mondial sur la migration et le développement", "huit points"),
        ("le deuxieme dialogue de haut niveau", "et ça a donné quoi au final ?", "huit points", "Forum mondial"),
    ],
)
def test_what_something_led_to_is_the_sentence_saying_so(
    kb: KnowledgeBase, index: SentenceIndex, before: str, question: str, expected: str, not_expected: str
) -> None:
    # "Il a abouti à la création du FMMD" starts its passage: its subject ends the passage before.
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text=question,
                      topic="event.high_level_dialogues", before=(before,))
    first = text.split("\n")[0]
    assert expected in first and not_expected not in first
    assert analyse(kb.answering, question).evidence == "outcome"


def test_a_sentence_starting_with_a_pronoun_is_searched_with_the_subject_said_before_it(index: SentenceIndex) -> None:
    unit = next(u for u in index.units if u.text.startswith("Il a abouti à la création du Forum mondial"))
    assert unit.context.startswith("Le premier Dialogue de haut niveau")
    assert unit.searched_context.startswith("Le premier Dialogue") and len(unit.searched_context.split()) <= 7


@pytest.mark.parametrize("text", ["je comprends pas", "j'ai pas compris", "hein ?", "c'est-à-dire ?"])
def test_not_understood_asks_what_the_person_looks_for(kb: KnowledgeBase, index: SentenceIndex, text: str) -> None:
    # Not a page sentence holding "comprennent" ("Ces critères comprennent l'aptitude médicale").
    reply, _ = respond(kb, index, "fallback", intent="nlu_fallback", text=text, topic="programme.voluntary_return",
                       before=("le retour volontaire c'est quoi",))
    assert responses(reply) == ["utter_clarify"]
    reply = focused.answer_small_talk(kb, Turn(intent="deny", text=text, said=(text,)), DOMAIN)
    assert responses(reply) == ["utter_clarify"]


@pytest.mark.parametrize("text", ["asdfghjkl", "0612345678", "qsdfqsdf zxcvb"])
def test_a_message_without_any_known_word_is_asked_again(kb: KnowledgeBase, index: SentenceIndex, text: str) -> None:
    reply, _ = respond(kb, index, "out_of_scope", intent="out_of_scope", text=text)
    assert responses(reply) == ["utter_ask_rephrase"]


def test_question_words_alone_with_nothing_before_ask_about_what(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, _ = respond(kb, index, "fallback", intent="nlu_fallback", text="pourquoi ?")
    assert responses(reply) == ["utter_clarify"]
    # With a topic on, the same words are a follow-up.
    reply, text = respond(kb, index, "fallback", intent="nlu_fallback", text="pourquoi ?",
                          topic="programme.evacuation", before=("c'est quoi les évacuations humanitaires",))
    assert responses(reply) != ["utter_clarify"] and "Source :" in text


def test_a_contact_question_naming_a_topic_gets_that_topics_contact(kb: KnowledgeBase) -> None:
    turn = Turn(intent="ask_contact", text="qui contacter pour le dialogue de haut niveau ?",
                said=("qui contacter pour le dialogue de haut niveau ?",))
    text = render(focused.answer_contact(kb, turn, DOMAIN))
    assert "migrationp@un.org" in text
    assert "ldoyle@iom.int" not in text and "migration4development@iom.int" not in text
    # The topic the message names wins over the conversation's.
    text = render(focused.answer_contact(kb, replace(turn, topic="framework.migration_development"), DOMAIN))
    assert "migrationp@un.org" in text and "migration4development@iom.int" not in text


def test_a_question_word_is_known_in_its_other_gender_or_number(index: SentenceIndex) -> None:
    # "pilote" is the pages' "pilotée"; "employé" is their "personnel" (search_words.yml), not
    # their "employeur"; "cuisinier" is nothing of theirs.
    assert index.unknown_nouns("qui le pilote ?") == []
    assert index.unknown_nouns("combien gagne un employé ?") == []
    assert index.unknown_nouns("combien gagne un cuisinier ?") == ["cuisinier"]


def test_an_object_pronoun_in_the_second_question_stands_for_what_the_first_named(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    _, text = respond(kb, index, "intent", intent="ask_global_migration_group",
                      text="le GMG regroupe combien d'entités, et qui l'a créé ?")
    assert "15 entités" in text and "Secrétaire général" in text
    assert "rencontres interactives" not in text


def test_which_papers_to_bring_is_a_gap_then_the_sentence_that_touches_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    # The pages never list the papers; "les documents disponibles pour voyager" is a criterion.
    reply, text = respond(kb, index, intent="ask_voluntary_return",
                          text="quels papiers exactement je dois apporter pour le retour volontaire ?")
    assert responses(reply)[0] == "utter_gap_point_topic"
    assert text.startswith("Les documents que je connais ne précisent pas quels papiers apporter")
    assert "documents disponibles pour voyager" in text


def test_since_when_is_answered_by_the_earliest_year(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "depuis quand ?" after the Dialogues: they exist since the first one, not since the 2013 one."""
    _, text = respond(kb, index, intent="ask_followup", text="depuis quand ?", topic="event.high_level_dialogues",
                      before=("c'est quoi le dialogue de haut niveau sur les migrations internationales",))
    assert "2006" in text
    assert "2013" not in text


def test_a_question_naming_the_topic_keeps_the_topic_sentence(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The message says "réinstallés": a resettlement sentence, not the voluntary return's that
    shares "pays", "aide" and "OIM" with it on the same page."""
    _, text = respond(kb, index, intent="ask_resettlement",
                      text="Quels sont les pays qui accueillent le plus de réfugiés réinstallés avec l'aide de l'OIM ?")
    assert "Libye" not in text
    assert "réinstall" in text


def test_a_verb_does_not_name_the_topic_its_noun_titles(kb: KnowledgeBase) -> None:
    """ "conseille" is not the Council; "réinstallés" is the resettlement (a long title word's family)."""
    council = kb.entry("event.council_110")
    resettlement = kb.entry("programme.resettlement")
    assert council is not None and resettlement is not None
    assert not focused.names_entry(("conseille",), council)
    assert focused.names_entry(("conseil",), council)
    assert focused.names_entry(("reinstalles",), resettlement)
    # Nor does a preposition of a title: "une personne sur sept" is not about "Le Groupe mondial sur la migration".
    group = kb.entry("event.global_migration_group")
    assert group is not None and not focused.names_entry(("sur", "sept"), group)
    assert focused.names_entry(("groupe",), group)
    # Nor does where a title says it happens: "les pays d'Europe après la guerre" is not the relocation.
    relocation = kb.entry("programme.relocation")
    assert relocation is not None and not focused.names_entry(("europe", "guerre"), relocation)
    assert focused.names_entry(("relocalisation",), relocation)


def test_a_short_question_the_classifier_cannot_place_follows_the_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="nlu_fallback", text="on me conseille avant de partir ?",
                      topic="programme.voluntary_return", before=("je veux des infos sur le retour humanitaire volontaire",))
    assert "conseils" in text
    assert "Conseil de l" not in text


def test_a_follow_up_on_a_word_of_the_sentence_just_given_gets_it_again(kb: KnowledgeBase, index: SentenceIndex) -> None:
    first, given = respond(kb, index, intent="ask_repatriation", text="L'OIM fait-elle du rapatriement volontaire de réfugiés ?",
                           programme="repatriation")
    assert "HCR" in given
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="en soutien de quelle agence ?",
                      topic="programme.repatriation", previous_reply=given,
                      before=("L'OIM fait-elle du rapatriement volontaire de réfugiés ?",))
    assert "HCR" in text
    # In another form of the word: "vous travaillez avec qui ?" after "L'OIM travaille en étroite
    # collaboration avec les gouvernements, le HCR...".
    question = "Comment marche la réinstallation des réfugiés ?"
    _, given = respond(kb, index, intent="ask_resettlement", text=question, programme="resettlement")
    assert "HCR" in given
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text="vous travaillez avec qui pour ça ?",
                      topic="programme.resettlement", previous_reply=given, before=(question,))
    assert "HCR" in text


def test_a_second_question_asking_for_a_contact_gets_the_contact_card(kb: KnowledgeBase, index: SentenceIndex) -> None:
    reply, text = respond(kb, index, intent="ask_migration_development",
                          text="La migration est un moteur de quoi dans le Programme 2030 ? et quel mail pour la stratégie de l'OIM ?")
    assert responses(reply)[0] == "utter_focused_answer" and "moteur du développement durable" in text
    assert "utter_contact_card" in responses(reply) and "migration4development@iom.int" in text
    assert kb.answering.asks_contact("je contacte qui ?") and kb.answering.asks_contact("vous contactez qui ?")


def test_a_follow_up_on_a_rare_thing_just_named_gets_its_sentence_again(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "la résolution 58/208" then "elle date de quand ?": the sentence already given holds the date
    (not the Dialogues' "Date d'établissement : 2006"); an ordinal or a year named before does not
    bring the given sentence back ("le deuxième dialogue" / "c'était quand ?")."""
    first = "la résolution 58/208"
    _, given = respond(kb, index, intent="ask_high_level_dialogue", text=first)
    assert "23 décembre 2003" in given
    _, text = respond(kb, index, intent="ask_iom_history", text="elle date de quand ?",
                      topic="event.high_level_dialogues", previous_reply=given, before=(first,))
    assert "23 décembre 2003" in text
    first = "le deuxième dialogue de haut niveau sur les migrations"
    _, given = respond(kb, index, intent="ask_high_level_dialogue", text=first)
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text="c'était quand ?",
                      topic="event.high_level_dialogues", previous_reply=given, before=(first,))
    assert "octobre 2013" in text


def test_the_items_of_a_menu_a_topic_cites_are_searched(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The organisation's offices are only in the pages' menu, which the leadership topic cites: its
    items are units, its run-together headings are not."""
    _, text = respond(kb, index, intent="ask_leadership", text="il existe un bureau de la communication à l'OIM ?")
    assert "Bureau des partenariats, de la sensibilisation et de la communication" in text
    menus = [u for u in index.units
             if (p := kb.passage(u.passage_id)) is not None and p.navigation and "#fact" not in u.id]  # not a topic's quote
    assert menus and all(u.list_item for u in menus)


def test_a_sentence_announcing_what_the_next_one_lists_is_quoted_with_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"... examiné en fonction d'un ensemble de critères spécifiques." says which criteria only with
    "Ces critères comprennent l'aptitude médicale..." after it."""
    _, text = respond(kb, index, intent="ask_voluntary_return", programme="voluntary_return",
                      text="Sur quels critères un migrant est-il examiné avant une aide au retour volontaire ?")
    assert "ensemble de critères spécifiques. Ces critères comprennent l'aptitude médicale" in text


def test_a_share_of_a_whole_is_its_own_question_type(kb: KnowledgeBase) -> None:
    assert analyse(kb.answering, "une personne sur combien est un migrant ?").evidence == "proportion"
    assert analyse(kb.answering, "quelle part du personnel est sur le terrain ?").evidence == "proportion"
    assert analyse(kb.answering, "combien de pays membres ?").evidence == "number"
    # "sur combien d'années" counts years: no share ("Au cours des 70 dernières années")
    assert analyse(kb.answering, "Sur combien d'années l'OIM a facilité le transport de millions de migrants ?").evidence == "number"
    assert analyse(kb.answering, "une personne sur combien dans le monde ?").evidence == "proportion"  # "dans" is no "d'ans"
    assert text_shows("Aujourd'hui, une personne sur sept est un migrant", "proportion")
    assert text_shows("son personnel déployé à plus de 90 % sur le terrain", "proportion")
    assert not text_shows("plus de 400 structures hors Siège", "proportion")


def test_staff_share_and_salary_questions(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, text = respond(kb, index, intent="ask_presence",
                      text="Quelle part des employés de l'OIM travaille hors du siège, directement sur le terrain ?")
    assert "90 %" in text
    _, text = respond(kb, index, intent="nlu_fallback", text="Combien gagne par mois un employé de l'OIM sur le terrain ?")
    assert "ne précisent pas" in text or "pas d'information" in text or "ne donnent pas" in text
    assert "90 %" not in text.split("\n")[0]


def test_a_part_naming_the_classifiers_topic_among_others_keeps_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "États" names the member states too; the Dialogue, which the classifier read, still leads."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue",
                      text="Combien d'États participent au Dialogue de haut niveau, et c'est organisé par qui ?")
    assert "195" in text


def test_help_first_then_the_programme_for_the_situation_told(kb: KnowledgeBase, index: SentenceIndex) -> None:
    text = "On m'a pris mes papiers et je n'ai plus un sou, je suis coincé dans un pays de transit, il existe une aide ?"
    reply, shown = respond(kb, index, intent="urgent_help", text=text)
    assert responses(reply)[:2] == ["utter_safety_trafficking", "utter_safety_person"]
    assert reply.slots["urgent"] is True
    assert "migrants bloqués" in shown
    # Thoughts of suicide get help alone, never a programme.
    reply, _ = respond(kb, index, intent="urgent_help", text="je veux mourir, je suis bloqué en Libye et je veux rentrer")
    assert responses(reply) == ["utter_safety_suicide", "utter_safety_person"]


def test_a_situation_gets_the_sentence_on_what_else_the_message_says(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """In Libya, wants to go home (the situation), afraid of persecution (what else): the
    programme, then the sentence on the risk assessment, not one on Libya's charter flights."""
    _, text = respond(kb, index, intent="ask_voluntary_return", country="Libye",
                      text="je suis en libye, je veux partir mais si je rentre dans mon pays j'ai peur d'être persécuté")
    assert "retour humanitaire volontaire" in text
    assert "persécution" in text
    assert "charters" not in text


def test_the_words_telling_the_situation_are_not_points_the_pages_miss(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "camp" and "Suède" tell where the family is; the question is how to be together again."""
    _, text = respond(kb, index, intent="nlu_fallback",
                      text="ma femme et mes 2 enfants sont restés au camp de kakuma, moi j'ai été réinstallé en suède, "
                           "comment on fait pour être ensemble ?")
    assert "regroupement familial" in text
    # The programme named ("réinstallation") leads, and the story's "cœur" is no point the pages miss.
    _, text = respond(kb, index, intent="ask_resettlement", programme="resettlement",
                      text="mon pere est malade du coeur, il doit prendre l'avion pour sa reinstallation, "
                           "quelqu'un peut l'accompagner ?")
    assert "coeur" not in text and "cœur" not in text


def test_a_follow_up_is_answered_by_a_sentence_using_its_rarest_own_word(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "et les bourses ça compte ?": "bourses" (one sentence of the pages), not "compte" nor the
    "réfugiés" of the message before."""
    _, text = respond(kb, index, intent="inform", text="et les bourses ça compte ?",
                      topic="programme.complementary_pathways",
                      before=("les voies complementaires pour les refugiés c'est quoi",))
    assert "bourses d'études" in text


def test_a_list_without_heading_is_quoted_without_a_stray_colon(index: SentenceIndex) -> None:
    """The site's menu is a list under no heading: quoted whole, it starts with its first item."""
    headless = [u for u in index.units if u.list_item and not u.section]
    assert headless
    for unit in headless:
        assert not focused.unit_text(index, unit, whole_list=True).startswith(":")
        assert not focused.unit_text(index, unit, whole_list=False).startswith(":")


def test_who_said_that_is_read_in_the_reply_just_given(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"c'est qui qui a annoncé ça ?" after a figure: the speaker the sentence just given names,
    whatever verb the page uses ("a mis en avant"); "vous travaillez avec qui pour ça ?" still asks
    for the partners, not for the sentence just given."""
    given, shown = after_reply(kb, index, "l'OIM a aidé combien de personnes en 2018 ?",
                               "ask_beneficiaries", "org.beneficiaries", "c'est qui qui a annoncé ça ?")
    assert "Vitorino" in given and "Vitorino" in shown, shown
    _, shown = after_reply(kb, index, "Comment marche la réinstallation des réfugiés ?",
                           "ask_resettlement", "programme.resettlement", "vous travaillez avec qui pour ça ?")
    assert "HCR" in shown, shown


def test_a_family_to_be_together_again_is_the_family_reunification_case(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A refugee whose wife and children stayed behind, asking to be "de nouveau ensemble"
    (answering.yml, family_abroad_wants_to_join): the complementary pathways, family reunification."""
    _, shown = respond(kb, index, intent="ask_programme_eligibility", text=(
        "Ma femme et mes deux enfants sont restés au pays, moi j'ai obtenu le statut de réfugié ici. "
        "Est-ce que l'OIM peut nous aider à être de nouveau ensemble ?"))
    assert "voies complémentaires" in shown and "regroupement familial" in shown, shown


def test_a_country_asked_by_lequel_in_a_scene_set_by_the_press_release(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Au dernier Conseil dont parle le communiqué de Genève, un pays a été accepté comme nouveau
    membre, lequel ?": "communiqué" names the page, not a point it is silent on; the scene before
    the comma is not what is asked; "un pays ..., lequel ?" asks for a country (answering.yml)."""
    _, shown = respond(kb, index, intent="ask_council_session", text=(
        "Au dernier Conseil de l'OIM dont parle le communiqué de Genève, un pays a été accepté comme "
        "nouveau membre, lequel ?"))
    assert "Liban" in shown and "ne mentionnent pas" not in shown, shown


@pytest.mark.parametrize(("intent", "text", "expected"), [
    ("ask_repatriation", "Mon mari est réfugié au Kenya et moi je vis en Belgique avec nos enfants, on voudrait "
     "enfin être réunis", "regroupement familial"),
    ("nlu_fallback", "Je vis dans un camp au Liban depuis six ans, avant la guerre j'étais étudiant en médecine. "
     "Est-ce qu'il existe un moyen légal de partir dans un autre pays pour reprendre mes cours ?", "bourses d"),
])
def test_family_reunited_and_a_student_in_a_camp(kb: KnowledgeBase, index: SentenceIndex, intent: str, text: str,
                                                  expected: str) -> None:
    """"être réunis" is the family's wish ("réunir" read as a word start, "reuni"); living in a camp
    tells a refugee's case, and "reprendre mes cours" a student's, before the war told."""
    _, shown = respond(kb, index, intent=intent, text=text)
    assert "voies complémentaires" in shown and expected in shown, shown


def test_asking_whether_is_a_question_not_a_wish_for_help(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Mon amie ... voudrait savoir si la société civile a pu échanger avec l'ONU lors du dialogue":
    "mon" tells of the user's own, but "savoir si" asks a point: the hearing with civil society,
    not the Dialogues' summary alone."""
    _, shown = respond(kb, index, intent="ask_high_level_dialogue", text=(
        "Mon amie travaille dans une ONG et voudrait savoir si la société civile a déjà pu échanger "
        "directement avec l'ONU lors du dialogue sur migrations et développement"))
    assert "Audition interactive informelle" in shown, shown


def test_a_question_carrying_on_the_reply_just_given(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"c'était quelle année ?" after the sentence telling how the OIM entered the UN system: its
    year (2016), not the founding; "devant combien d'États ?" after the DG's speech: the 173 States
    that sentence names, though the classifier reads "États" as the member states' topic."""
    given, shown = after_reply(kb, index, "L'OIM a rejoint officiellement le système des Nations Unies à quelle "
                               "occasion ?", "ask_un_membership", "org.un_membership", "c'était quelle année ?")
    assert "2016" in given and "2016" in shown and "1951" not in shown, shown
    first = "Qui a pris la parole à l'ouverture du Conseil de l'OIM le 26 novembre ?"
    _, given = respond(kb, index, intent="ask_council_session", text=first)
    _, shown = respond(kb, index, intent="ask_member_states", topic="event.council_110", before=(first,),
                       text="devant combien d'États ?", previous_reply=given)
    assert "173" in shown and "195" not in shown, shown


def test_what_someone_said_about_a_subject(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"il a dit quoi sur les migrants ?" after "qui est António Vitorino ?": his words about the
    migrants (a sentence reporting words: "a-t-il souligné"), not his opening words."""
    _, shown = after_reply(kb, index, "Qui est António Vitorino ?", "ask_leadership", "org.leadership",
                           "il a dit quoi sur les migrants ?")
    assert "partenaires déterminés" in shown, shown


def test_cost_and_age_limit_gaps_say_nothing_of_free(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The cost gap does not say "gratuit" (a user reads it as a promise); "une limite d'âge ?" is
    the age aspect, said to be missing, not the list of pathways."""
    _, shown = respond(kb, index, intent="ask_voluntary_return",
                       text="Combien ça coûte de rentrer chez soi avec le retour volontaire de l'OIM ?")
    assert "ne précisent pas ce que coûte" in shown and "gratuit" not in shown.lower(), shown
    _, shown = respond(kb, index, intent="ask_complementary_pathways",
                       text="Pour les bourses d'études destinées aux réfugiés, il y a une limite d'âge ?")
    assert "limite d'âge" in shown and "ne précisent pas" in shown, shown


def test_today_is_not_a_word_of_the_point_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"..., et elle a combien de structures hors siège aujourd'hui ?": the presence's sentence
    (400), though its "aujourd'hui" is in the sentence before."""
    _, shown = respond(kb, index, intent="ask_iom_history", text=(
        "L'OIM a été fondée en quelle année, et elle a combien de structures hors siège aujourd'hui ?"))
    assert "1951" in shown and "400 structures" in shown, shown


def test_what_was_said_naming_no_subject_is_the_first_quote(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"il a dit quoi ?" after who opened the Council: the first words the article reports
    ("C'est un privilège ..."), not whichever quote shares words with the question before."""
    _, shown = after_reply(kb, index, "Qui a ouvert la 110e session du Conseil de l'OIM ?", "ask_council_session",
                           "event.council_110", "il a dit quoi ?")
    assert "privilège" in shown, shown


def test_a_ranking_asked_again_is_the_topics_own(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et ils partent surtout où ?" after two turns on the resettlement: its ranking of countries
    (États-Unis, Canada, Australie), not another section's sentence sharing the turn before's words."""
    first, second = "l'OIM fait de la réinstallation de réfugiés ?", "ça concerne combien de gens par an ?"
    _, given = respond(kb, index, intent="ask_resettlement", text=first)
    _, given = respond(kb, index, "fallback", intent="nlu_fallback", topic="programme.resettlement",
                       before=(first,), text=second, previous_reply=given)
    _, shown = respond(kb, index, intent="inform", topic="programme.resettlement", before=(first, second),
                       text="et ils partent surtout où ?", previous_reply=given)
    assert "Canada" in shown and "Australie" in shown, shown


def test_and_the_first_asks_what_the_message_before_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et le premier ?" after "le deuxième Dialogue, il s'est tenu quand ?": the first one's dates;
    "et le liban ?" after a count of member States asks no count (the Council's adhesion)."""
    _, shown = after_reply(kb, index, "Le deuxième Dialogue de haut niveau sur les migrations, il s'est tenu quand ?",
                           "ask_high_level_dialogue", "event.high_level_dialogues", "et le premier ?")
    assert "2006" in shown, shown
    _, shown = after_reply(kb, index, "l'oim compte combien de pays membres aujourd'hui", "ask_member_states",
                           "org.member_states", "et le liban ?")
    assert "Liban" in shown and "ne précisent pas" not in shown, shown


def test_two_rare_words_of_the_question_in_one_sentence(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"la grosse publication de l'OIM, le rapport phare ?" read by no intent: the one sentence
    holding "publication" and "phare" answers (and sets the topic); a sentence holding rare words
    without the figure asked does not answer "combien de migrants sont détenus dans les centres ?"."""
    reply, shown = respond(kb, index, "fallback", intent="nlu_fallback",
                           text="c'est quoi la grosse publication de l'OIM, le rapport phare ?")
    assert "Etat de la migration dans le monde 2020" in shown and reply.slots.get("topic") == "event.council_110"
    _, shown = respond(kb, index, "fallback", intent="nlu_fallback",
                       text="Combien de migrants sont actuellement détenus dans les centres en Libye ?")
    assert "ne précisent pas" in shown or "ne mentionnent pas" in shown or not shown, shown


def test_a_weekday_is_a_date() -> None:
    """"quel jour ?": "le lancement, mercredi, de la publication phare" shows a date."""
    from bot.knowledge.sentence_search import _features

    assert "date" in _features("le lancement, mercredi, de la publication phare de l'OIM", (), False)
    assert "date" not in _features("le lancement de la publication phare de l'OIM", (), False)


def test_how_they_are_called_in_that_role(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"on les appelle comment dans ce rôle ?" after the local authorities ("mairies", the pages'
    "autorités infranationales"): the name given in « » ("premiers intervenants")."""
    _, shown = after_reply(kb, index, "l'OIM aide les mairies et les régions sur la migration ?",
                           "ask_migration_development", "framework.migration_development",
                           "on les appelle comment dans ce rôle ?")
    assert "premiers intervenants" in shown, shown


def test_migrants_in_the_world_and_examples(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"énormément de migrants dans le monde ?" asks a share (une personne sur sept); its passage
    is an entry of its own (knowledge), so "par exemple ?" after it has a topic to read."""
    first = "c'est vrai qu'il y a énormément de migrants dans le monde aujourd'hui ?"
    reply, given = respond(kb, index, "fallback", intent="nlu_fallback", text=first)
    assert "une personne sur sept" in given and reply.slots.get("topic") == "framework.migrants_today", given
    _, shown = respond(kb, index, "fallback", intent="nlu_fallback", topic="framework.migrants_today",
                       before=(first,), text="par exemple ?", previous_reply=given)
    assert "un étudiant" in shown, shown


def test_whether_the_oim_does_something_is_a_question(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"j'ai peur d'être persécuté ..., est-ce que l'OIM vérifie ça ?": the risk assessment, not
    the programme's summary ("peur" is the user's feeling, not a point the pages are silent on)."""
    _, shown = respond(kb, index, intent="ask_voluntary_return", text=(
        "J'ai peur d'être persécuté si je rentre dans mon pays, est-ce que l'OIM vérifie ça avant de me renvoyer ?"))
    assert "évaluation des risques" in shown, shown


@pytest.mark.parametrize(("intent", "text", "expected"), [
    ("nlu_fallback", "Mon cousin est au Yémen depuis un an, il n'a plus rien et il veut revenir en Éthiopie, "
     "qui peut l'aider ?", "retour humanitaire volontaire"),
    ("ask_complementary_pathways", "jpeu faire venir ma famille ki est resté o pays stp", "regroupement familial"),
])
def test_what_asks_nothing(kb: KnowledgeBase, index: SentenceIndex, intent: str, text: str, expected: str) -> None:
    """"qui peut l'aider ?" asks for help, not who nor the conditions; "ma famille ki est resté"
    asks no "qui": the programme for the case told."""
    _, shown = respond(kb, index, "fallback" if intent == "nlu_fallback" else "intent", intent=intent, text=text)
    assert expected in shown, shown


def test_staff_count_is_a_gap_but_their_share_is_known(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, shown = respond(kb, index, intent="ask_presence", text="Combien de salariés travaillent à l'OIM en tout ?")
    assert "ne précisent pas combien de personnes travaillent" in shown, shown
    _, shown = respond(kb, index, intent="ask_presence",
                       text="Quelle part des employés de l'OIM travaille hors du siège, directement sur le terrain ?")
    assert "90 %" in shown, shown


def test_the_page_a_question_is_read_on_is_set_aside(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"... et l'OIM a combien d'États Membres d'après sa page d'histoire ?": 166, not the history's
    years (the page named is where to look, not what to look for)."""
    _, shown = respond(kb, index, intent="ask_iom_history", text=(
        "Le premier Sommet pour les réfugiés et les migrants c'était en quelle année ? et l'OIM a combien "
        "d'États Membres d'après sa page d'histoire ?"))
    assert "2016" in shown and "166" in shown, shown


def test_what_makes_a_migrant_stranded(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"qu'est-ce qui fait qu'..." asks a cause (not "qui"): the factors the fund's page lists."""
    _, shown = respond(kb, index, intent="ask_stranded_migrants",
                       text="Qu'est-ce qui fait qu'un migrant se retrouve bloqué, selon l'OIM ?")
    assert "dénuement financier" in shown, shown


def test_a_rare_name_written_capitalised_tells_the_sentence(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"je pars de Malaisie pour travailler en Jordanie, je compte comme migrante ?": the one sentence
    naming Malaisie (the country entity is Jordanie, which more sentences name)."""
    _, shown = respond(kb, index, intent="ask_health_integration", country="Jordanie", text=(
        "Je suis infirmière, je pars de Malaisie pour travailler en Jordanie, est-ce que je compte comme migrante ?"))
    assert "une personne sur sept" in shown, shown


def test_the_asylum_reply_says_the_pages_do_not_tell(kb: KnowledgeBase) -> None:
    """No promise on asylum, and said as the other gaps are: the pages give no information on it."""
    assert "ne donnent pas d'information" in response_text(DOMAIN, "utter_asylum_visa")


def test_a_quoted_passage_becomes_the_topic_of_a_follow_up(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"qu'est-ce qui a changé pour l'OIM en 2016 ?" read by no intent gets the closest passage;
    its entry is now the topic, and "c'était quel jour ?" reads the sentence just given (19 septembre)."""
    first = "Qu'est-ce qui a changé pour l'OIM en 2016 ?"
    reply = actions_module._fallback(kb, Turn(intent="nlu_fallback", text=first, said=(first,)), DOMAIN)
    given = render(reply)
    assert "2016" in given and reply.slots.get("topic"), given
    _, shown = respond(kb, index, "out_of_scope", intent="out_of_scope", topic=reply.slots["topic"],
                       before=(first,), text="c'était quel jour ?", previous_reply=given)
    assert "19 septembre" in shown, shown


def test_opened_on_a_date_is_not_opening_hours(kb: KnowledgeBase) -> None:
    """"la session du Conseil ouverte le 26 novembre": a date, not the hours aspect; "le bureau est
    ouvert le samedi ?" is."""
    from bot.knowledge.question_analysis import analyse

    assert analyse(kb.answering, "Sur quels thèmes portaient les débats de la session ouverte le 26 novembre ?").aspect is None
    hours = analyse(kb.answering, "le bureau est ouvert le samedi ?").aspect
    assert hours is not None and hours.name == "hours"


def test_the_themes_asked_are_searched(kb: KnowledgeBase) -> None:
    """"sur quels thèmes portaient les débats ?": "thèmes" is what is asked, searched (the list is
    asked by "quels"), not a question cue blanked out."""
    from bot.knowledge.question_analysis import analyse

    analysis = analyse(kb.answering, "sur quels thèmes portaient les débats de cette session ?")
    assert analysis.evidence == "list" and "themes" in analysis.rest, analysis.rest


def test_how_many_people_are_migrants_in_sms(kb: KnowledgeBase, index: SentenceIndex) -> None:
    _, shown = respond(kb, index, "fallback", intent="nlu_fallback", text="ya cb de pers ki son migran ds le monde aujourdui")
    assert "une personne sur sept" in shown, shown


def test_a_follow_up_word_counts_in_the_pages_words_of_the_same_meaning(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"et qui a demandé à adhérer ?" after the DG's speech naming Vitorino: "la demande d'adhésion
    du Liban" (adhérer ~ adhésion), not the speech again for the name the message before used."""
    _, shown = after_reply(kb, index, "Devant combien d'États membres Vitorino a-t-il parlé à la session du Conseil ?",
                           "ask_member_states", "event.council_110", "et qui a demandé à adhérer ?")
    assert "Liban" in shown, shown


def test_an_english_question_naming_a_country(kb: KnowledgeBase) -> None:
    text = "What did the IOM Council decide about Lebanon during its 110th session?"
    reply = focused.answer_in_another_language(kb, Turn(intent="other_language", text=text, said=(text,)), DOMAIN)
    assert "Liban" in render(reply)


def test_words_the_search_leaves_out_name_no_missing_point(index: SentenceIndex) -> None:
    """"je n'arrive pas à retrouver l'info": "info" is a stop word of the search (search_words.yml),
    not a point the pages are silent on."""
    assert "info" not in index.unknown_nouns("je n'arrive pas à retrouver l'info sur les débats de cette session ?")


@pytest.mark.parametrize(("text", "qtype"), [
    ("Comment l'OIM aide les autorités locales ? pour quoi faire ?", "purpose"),
    ("l'OIM va me renvoyer quand même ?", None),  # "quand même" asks no date
    ("Dans son discours, Vitorino a dit que les migrants doivent être vus comme quoi ?", "seen_as"),
])
def test_question_types_of_phrasings(kb: KnowledgeBase, text: str, qtype: str | None) -> None:
    from bot.knowledge.question_analysis import analyse

    found = analyse(kb.answering, text).qtype
    assert (found.name if found else None) == qtype


def test_what_the_dg_said_the_migrants_must_be_seen_as(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Vitorino a dit que les migrants doivent être vus comme quoi ?": his words ("partenaires
    déterminés"), a sentence reporting them, not the one naming his speech."""
    _, shown = respond(kb, index, intent="ask_council_session", text=(
        "Dans son discours au Conseil, Vitorino a dit que les migrants doivent être vus comme quoi exactement ?"))
    assert "partenaires déterminés" in shown, shown


def test_sms_forms_of_s_appeler(kb: KnowledgeBase) -> None:
    """"il sapel coment": written out, not read as the closest page word ("Sahel")."""
    assert focused.written_out(kb, "le dg de loim ki a parlé o conseil il sapel coment").endswith("il s'appelle comment")


def test_a_relative_qui_asks_no_one(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "des pays qui ont pas de structures d'accueil, il a cité quel cas ?" asks which case, not who
    (answering.yml not_question_words); "ils ont formé qui exactement ?" still asks who, "l'exemple du
    professionnel" names one example, it asks for no list, and "... vient de quel document ?" asks a
    source (who_unnamed)."""
    text = "Dans son discours le DG parlait de pays qui ont pas de structures d'accueil, il a cité quel cas comme très grave ?"
    assert analyse(kb.answering, text).evidence != "agent"
    _, shown = respond(kb, index, intent="ask_council_session", text=text)
    assert "mineurs non accompagnés" in shown, shown
    assert analyse(kb.answering, "En 2019, ils ont formé qui exactement ?").evidence == "agent"
    assert analyse(kb.answering, "les pays qui prennent le plus de réfugiés c'est lesquels").evidence == "places"
    assert analyse(kb.answering, "l'exemple du professionnel de santé qui migre, il part d'où").evidence != "list"
    # A relative clause telling which sentence, the source asked ("elle vient de quel document ?"): who said it.
    assert analyse(kb.answering, "La phrase sur la migration qui ne peut pas être gérée par un seul secteur, "
                                 "elle vient de quel document ?").evidence == "agent"


def test_words_of_other_languages_mixed_in_name_no_point(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "devant combien d'Etats membres wesh ?" asks the count, "wesh" is no point the pages miss;
    "cree par qui ? by whom ?" after the Global Migration Group is a follow-up, not small talk
    (answering.yml empty_words)."""
    reply, shown = respond(kb, index, intent="ask_member_states", text="devant combien d'Etats membres wesh ?",
                           topic="event.council_110", before=("Vitorino a fait un discours au Conseil c'est ca ?",))
    assert "wesh" not in shown and "173" in shown, shown
    turn = Turn(intent="bot_challenge", text="cree par qui ? by whom ?", topic="event.global_migration_group",
                said=("le Groupe mondial sur la migration c'est quoi exactement ?", "cree par qui ? by whom ?"))
    assert "Secrétaire général" in render(focused.answer_small_talk(kb, turn, DOMAIN))


def test_being_confused_is_no_loss_of_papers(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "je suis perdu" says the user is confused; "j'ai perdu mes papiers" tells a stranded migrant's case
    (answering.yml situations)."""
    assert kb.answering.situation("slt ds la structure de l'oim ya koi comme directrice generale adjointe? jsui perdu", ()) is None
    assert kb.answering.situation("Je demande parce que je suis perdu entre tous ces organismes", ()) is None
    for told in ("j'ai perdu mes papiers et je n'ai plus d'argent", "on est perdus dans le desert, le chauffeur est parti"):
        found = kb.answering.situation(told, ())
        assert found is not None and found.name == "stranded_without_papers_or_money", told


def test_a_short_sms_word_is_not_read_as_a_page_word_twice_as_long(kb: KnowledgeBase) -> None:
    """ "aid" sounds like the pages' "aidées" but is no spelling of it; "kom" is "comme"; "cmt" is
    "comment" (sms_spellings.yml)."""
    assert "aidees" not in focused.written_out(kb, "le fond pr lé migran bloké il aid cmt exactemen")
    assert focused.written_out(kb, "le fond pr lé migran bloké il aid cmt exactemen").endswith("comment exactement")
    assert "comme" in focused.written_out(kb, "je suis bloque au yemen kom je fai pour rentré au pays")


def test_someone_is_not_respelled(kb: KnowledgeBase) -> None:
    """ "quelqu'un" is read as "quelqu" + "un": its first word is no typo of the pages' "quelques"."""
    assert focused.written_out(kb, "Avant d'accepter quelqu'un, l'OIM vérifie quoi ?") == "Avant d'accepter quelqu'un, l'OIM vérifie quoi ?"


@pytest.mark.parametrize(("text", "expected"), [
    ("¿Cuántas personas ayudó la OIM a desplazarse en 2021?", "118 000"),
    ("Welches Land hat bei der Ratssitzung der IOM im November den Beitritt beantragt?", "Liban"),
])
def test_spanish_or_german_read_as_french_by_the_classifier(
    kb: KnowledgeBase, index: SentenceIndex, text: str, expected: str
) -> None:
    """The classifier reads these as French questions: they are told apart by their own stop and
    glossary words, and answered from the pages after saying the assistant speaks French."""
    reply, shown = respond(kb, index, intent="ask_beneficiaries", text=text)
    assert responses(reply)[0] == "utter_other_language_answer" and expected in shown, shown


def qa_texts(skip: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(item id, message) of every turn of both QA sets, items of the `skip` categories left out."""
    for name in ("questions.yml", "holdout.yml"):
        data = load_yaml(Path(__file__).parent / "qa" / name)
        for item in data["items"]:
            if item.get("category") not in skip:
                yield from ((item["id"], text) for text in item["turns"])


def test_french_questions_are_not_read_as_spanish_or_german(kb: KnowledgeBase) -> None:
    """No French question of the QA sets (SMS spelling included) is taken for Spanish or German."""
    for item_id, text in qa_texts(skip=("odd_input", "other_language")):
        assert not focused.written_in_another_language(kb, text), (item_id, text)


@pytest.mark.parametrize(("typed", "digits"), [
    ("que s'est il passé en deux mille seize ?", "que s'est il passé en 2016 ?"),
    ("mille neuf cent cinquante et un", "1951"),
    ("en dix-neuf cent cinquante-six", "en 1956"),
    ("deux mille treize et deux mille six", "2013 et 2006"),
    ("une personne sur sept", "une personne sur sept"),  # no "cent" nor "mille": left as typed
])
def test_years_written_out_are_read_in_digits(typed: str, digits: str) -> None:
    from bot.knowledge.question_analysis import spell_numbers

    assert spell_numbers(typed) == digits


def test_the_contact_card_just_given_without_a_target(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"qui contacter pour la session du Conseil ?" gives the press contact of that article (no
    target named); "et son tel ?" right after is about that card."""
    first = "qui contacter pour des infos sur la session du Conseil de l'OIM ?"
    _, given = respond(kb, index, intent="ask_contact", text=first)
    _, shown = respond(kb, index, intent="inform", before=(first,), text="et son tel ?", previous_reply=given)
    assert "285 7123" in given and "285 7123" in shown, shown


def test_on_is_the_first_person(kb: KnowledgeBase) -> None:
    """"on a perdu nos papiers" tells the user's own case ("on" was read by YAML as true)."""
    assert "on" in kb.answering.first_person
    told = kb.answering.situation("on a perdu ses papiers et il y a plus d'argent", ())
    assert told is not None and told.entry == "programme.stranded_migrants"


def test_a_word_list_read_as_booleans_is_refused() -> None:
    from bot.knowledge.question_analysis import FollowupRules

    with pytest.raises(ValueError, match="boolean"):
        FollowupRules.parse_obj({"pointers": [], "empty_words": ["je", True]})


def test_harm_read_by_the_classifier_as_a_call_for_help(kb: KnowledgeBase) -> None:
    """No trigger matches "mon colocataire est allongé par terre, il bouge plus"; the classifier
    ranks urgent_help among its best intents and the message holds a word of harm: urgent. Neither
    alone is enough."""
    text = "mon colocataire est allongé par terre, il bouge plus et il a de la mousse à la bouche"
    assert kb.safety.match(text) is None
    found = kb.safety.harm_read_as_call_for_help(text, ("out_of_scope", "urgent_help"))
    assert found is not None and found.category == "distress"
    assert kb.safety.harm_read_as_call_for_help(text, ("out_of_scope", "goodbye")) is None
    assert kb.safety.harm_read_as_call_for_help("je voudrais faire venir ma femme", ("urgent_help",)) is None


def test_a_question_pointing_back_beside_danger_is_answered_after_the_help(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A child alone told (the help first), then "Qu'est-ce qu'il a dit ... ?" where "il" is the
    Director General the sentence before names: that question is answered too."""
    text = ("Mon neveu a 15 ans. Il est parti seul, on ne sait pas qui s'occupe de lui. Je lis que le directeur de "
            "l'OIM a parlé des mineurs non accompagnés au Conseil. Qu'est-ce qu'il a dit sur la façon dont les pays "
            "les accueillent ?")
    assert kb.safety.match(text) is not None
    assert focused.question_beside_danger(kb, text) is not None
    _, shown = respond(kb, index, intent=URGENT_INTENT, text=text)
    assert "protégé en priorité" in shown and "structures basiques" in shown, shown


def test_no_question_of_the_qa_sets_is_taken_for_an_emergency(kb: KnowledgeBase) -> None:
    """The triggers stay precise: no message of a category other than distress or a situation told
    (hardship, which may be both) matches one, but for a distress told beside a question."""
    for item_id, text in qa_texts(skip=("distress", "situation")):
        match = kb.safety.match(text)
        if match is None:
            continue
        # Unless the message tells a distress of its own and asks the pages something as well ("je
        # suis désespérée ... Quelle part de leur personnel travaille sur le terrain ?"): answered
        # after the help (the REST replay of the QA sets checks that answer).
        assert focused.question_beside_danger(kb, text) is not None, (item_id, text, match)


# --- Questions of this session's blind batches (ho27, ho28) --------------------------------------


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("Ils ont combien d'antennes en dehors de Genève, à peu près ?", "count"),
        ("Quel pays a vu sa candidature pour entrer dans l'organisation acceptée ?", "list_countries"),
    ],
)
def test_a_fact_asked_is_not_a_point_for_oneself(kb: KnowledgeBase, text: str, asked: str) -> None:
    """answering.yml `not_with_types`: counting offices asks no address, a country's candidature
    asks no way to apply; the same cue words still ask it alone."""
    analysis = analyse(kb.answering, text)
    assert analysis.qtype is not None and analysis.qtype.name == asked
    assert analysis.aspect is None
    assert analyse(kb.answering, "où est l'antenne de l'OIM à Dakar ?").aspect.name == "office"
    assert analyse(kb.answering, "comment faire une candidature ?").aspect.name == "apply"


def test_a_second_question_on_offices_finds_the_structures(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "bureaux" is "structures" in the pages (search_words.yml): the second question of a message
    on the OIM's history still finds its presence's sentence, of another topic's passage."""
    _, text = respond(kb, index, intent="ask_iom_history",
                      text="Elle a été fondée en quelle année, et elle a combien de bureaux hors siège ?")
    assert "1951" in text and "400 structures hors Siège" in text


def test_a_count_for_a_time_told_from_today_is_a_gap(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The pages are dated: "l'an dernier" has no figure; said first, in the user's words, then
    what they say. A count for a year they name is not such a gap."""
    reply, text = respond(kb, index, intent="ask_voluntary_return", text=(
        "Combien de migrants l'OIM a-t-elle fait rentrer du Yémen l'année dernière avec le retour humanitaire volontaire ?"))
    assert responses(reply)[0] == "utter_gap_when_topic"
    assert "ne donnent pas de chiffre pour « l'année dernière »" in text and "Source :" in text
    reply, text = respond(kb, index, intent="ask_movement_assistance",
                          text="l'OIM a aidé combien de personnes en 2021 ?")
    assert responses(reply)[0] != "utter_gap_when_topic" and "118 000" in text


def test_a_country_as_written_must_be_held(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The entity "États-Unis d'Amérique" written "États-Unis": a count for the US in 2019 is not
    the yearly worldwide figure of the resettlement (no sentence gives it)."""
    text = "Combien de réfugiés l'OIM a-t-elle réinstallés aux États-Unis en 2019 ?"
    _, shown = respond(kb, index, intent="ask_resettlement", country="États-Unis d'Amérique",
                       country_said="États-Unis", text=text)
    assert "100 000" not in shown and "États-Unis" in shown


def test_a_year_and_the_place_named_by_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "en 1968, ... quel pays ?": the sentence naming a country right by that year answers, though
    it shares no other word with the question."""
    _, text = respond(kb, index, intent="ask_iom_history", text="En 1968, ils sont intervenus pour quel pays ?")
    assert "Tchécoslovaquie en 1968" in text


def test_a_count_asked_in_countries_finds_the_states_heading(index: SentenceIndex) -> None:
    """search_words.yml `counted_alike`: "combien de pays participent ?" is the heading "États
    participants (195 États)", the list's figure, not the meetings' list sharing more words."""
    (top,) = index.rank("Combien de pays participent au dialogue de haut niveau sur les migrations internationales ?",
                        evidence="number", k=1)
    assert "195 États" in top.unit.section


def test_who_asked_after_a_reply_naming_them_gets_it_again(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "avec qui ?" after the repatriation's reply, which named the HCR: that sentence again, not
    a list item naming the HCR among a meeting's observers (new, but far worse)."""
    first = "l'OIM fait aussi du rapatriement de réfugiés ?"
    reply, given = respond(kb, index, intent="ask_repatriation", text=first)
    _, text = respond(kb, index, intent="ask_repatriation", text="avec qui ?", topic=reply.slots.get("topic"),
                      before=(first,), previous_reply=given)
    assert "rapatriement du HCR" in text and "Observateurs" not in text


def test_a_day_asked_after_a_sentence_naming_the_press_contact_is_the_topics_day(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml followups `unasked_contact_types`: a quoted sentence named Leonard Doyle (nobody
    asked for a contact); "elle a ouvert quel jour ?" asks the session's day, not the press card.
    Asked for, the card still answers "on peut l'appeler quand ?"-like questions (contact_types)."""
    given = "Pour plus d’informations, veuillez contacter Leonard Doyle au siège de l’OIM à Genève, Tel. +41 79 285 7123, email : ldoyle@iom.int"
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="elle a ouvert quel jour ?",
                      topic="event.council_110", before=("y a eu la 110e session du conseil de l'oim à Genève",),
                      previous_reply=given)
    assert "26 novembre" in text and "ldoyle@iom.int" not in text
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="il est basé où ?",
                      topic="event.council_110", before=("y a eu la 110e session du conseil de l'oim à Genève",),
                      previous_reply=given)
    assert "ldoyle@iom.int" in text


def test_an_aspect_the_classifiers_topic_misses_is_looked_for_in_the_conversations_topic(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """"et on voyage comment, avion ou bateau ?" after the voluntary return, read as the movement
    assistance (whose passages name no means): the voluntary return's sentence naming them, not
    "the documents do not say which means of transport"."""
    first = "Le retour humanitaire volontaire depuis le Yémen, comment ça marche ?"
    _, text = respond(kb, index, intent="ask_movement_assistance", text="et on voyage comment, avion ou bateau ?",
                      topic="programme.voluntary_return", before=(first,))
    assert "vols charters" in text and "ne précisent pas" not in text


def test_the_type_asked_is_read_in_the_question_sentence_not_the_story_before(kb: KnowledgeBase) -> None:
    """A relative "qui" in the sentence told before the question asks no one: the question sentence's
    "quels cas" asks a list, and the sentence naming the cases ranks first."""
    text = ("Dans son discours au Conseil, le DG de l'OIM a parlé des pays qui manquent de structures d'accueil. "
            "Il a cité quels cas particulièrement graves ?")
    assert analyse(kb.answering, text).qtype.name == "list"
    assert analyse(kb.answering, "des pays qui manquent de structures d'accueil ?").qtype.name == "who"
    top = sentence_index(kb).rank(text, kb.entry("event.council_110"), analyse(kb.answering, text).evidence, k=1)[0]
    assert "mineurs non accompagnés" in top.unit.text


def test_rare_words_of_the_story_before_the_question_pick_no_other_topics_sentence(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """Where the users are, told before their question ("une famille syrienne réfugiée en Jordanie
    ... L'OIM intervient comment ?"), is no rare word of what they ask: the resettlement the
    classifier read, not the one sentence naming a migrant settling in Jordan."""
    text = ("Je suis bénévole dans une association, on suit une famille syrienne réfugiée en Jordanie qui rêve de "
            "partir s'installer au Canada. L'OIM intervient comment ?")
    reply, answer = respond(kb, index, intent="ask_resettlement", text=text, country="Canada")
    assert reply.slots.get("topic") == "programme.resettlement" and "Malaisie" not in answer
    # A question pointing back at the story keeps its names: "il" is the professional of Malaysia.
    _, answer = respond(kb, index, "fallback", intent="nlu_fallback", text=(
        "Mon cousin est un professionnel de la santé qui quitte la Malaisie. Il va vivre dans quel pays ?"))
    assert "Jordanie" in answer
    # So does a question on the users themselves: their story is what they ask about.
    _, answer = respond(kb, index, intent="ask_health_integration", text=(
        "Je suis infirmière, je quitte la Malaisie pour un poste en Jordanie. Est-ce que vous me considérez comme une migrante moi aussi ?"))
    assert "une personne sur sept" in answer


def test_writing_to_which_address_asks_for_the_contact_of_the_topic_the_classifier_ranked(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """answering.yml whom_to_contact_cues ("on écrit à quelle adresse ?") and first_named_entry's
    tie-break: "migration" and "développement" name the Dialogues, the Forum and the migration and
    development alike; the classifier's runner-up (ask_migration_development) picks the unit's
    e-mail, not the UN's fax in New York."""
    text = "Notre association veut travailler avec l'OIM sur migration et développement, on écrit à quelle adresse ?"
    _, answer = respond(kb, index, "fallback", intent="nlu_fallback", text=text,
                        ranked_intents=("ask_contact", "ask_migration_development"))
    assert "migration4development@iom.int" in answer and "migrationp@un.org" not in answer
    _, answer = respond(kb, index, "fallback", intent="nlu_fallback",
                        text="à quelle adresse on écrit pour le dialogue de haut niveau ?")
    assert "migrationp@un.org" in answer


def test_a_claim_with_a_wrong_year_gets_the_year_missed_then_the_sentence_the_pages_give(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """A claim to check with a year the pages do not give: the year is the gap, and the sentence
    naming what else the claim names follows ("les Hongrois": search_words demonyms, the pages say
    "la Hongrie en 1956"; "Tchécoslovaquie en 1986": "la Tchécoslovaquie en 1968"); a date claimed
    wrong gets the topic's sentence giving it ("date de 2005 ?": "résolution 58/208 du 23 décembre 2003")."""
    assert index.unknown_nouns("l'OIM a aidé les Hongrois en 1965 ?") == []
    _, text = respond(kb, index, intent="ask_iom_history", text="Mon grand-père dit que l'OIM a aidé les Hongrois en 1965, c'est vrai ?")
    assert "1965" in text and "Hongrie en 1956" in text and "« hongrois »" not in text
    _, text = respond(kb, index, intent="ask_iom_history", country="Tchécoslovaquie",
                      text="Il paraît que l'OIM a aidé les gens de Tchécoslovaquie en 1986 ??")
    assert "« 1986 »" in text and "Tchécoslovaquie en 1968" in text
    _, text = respond(kb, index, intent="ask_high_level_dialogue", text=(
        "c'est vrai que la résolution de l'ONU qui a décidé du dialogue de haut niveau sur les migrations date de 2005 ?"))
    assert "23 décembre 2003" in text


def test_a_pronoun_and_question_words_ask_again_what_the_reply_led_with(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """POINTED_BACK_TYPES: "il en a dit quoi ?" right after the quote on unaccompanied minors is
    that quote; "ça sert à quoi au juste ?" after the local migration profiles is the purpose the
    sentence opens on ("Pour pouvoir intégrer la migration dans les plans de développement
    communautaire ...": a reason, sentence_search _REASON). "pourquoi on fait ça ?" is not: the
    topic may give its reason in another sentence (the relocation's solidarity)."""
    first = "Le directeur général a évoqué les mineurs non accompagnés dans son discours ?"
    reply, given = respond(kb, index, intent="ask_council_session", text=first)
    assert given.startswith("Toutefois, « de nombreux pays")
    _, text = respond(kb, index, "out_of_scope", intent="out_of_scope", text="il en a dit quoi ?",
                      topic=reply.slots.get("topic"), before=(first,), previous_reply=given)
    assert "structures basiques d’accueil" in text and "privilège" not in text
    first = "L'OIM peut aider une commune à établir un profil migratoire local ?"
    reply, given = respond(kb, index, intent="ask_migration_development", text=first)
    assert given.startswith("Pour pouvoir intégrer")
    _, text = respond(kb, index, intent="ask_capabilities", text="ça sert à quoi au juste ?",
                      topic=reply.slots.get("topic"), before=(first,), previous_reply=given)
    assert text.startswith("Pour pouvoir intégrer la migration dans les plans de développement communautaire")
    first = "La relocalisation dans l'UE, ça consiste en quoi ?"
    reply, given = respond(kb, index, intent="ask_relocation", text=first)
    _, text = respond(kb, index, intent="ask_relocation", text="et pourquoi on fait ça ?",
                      topic=reply.slots.get("topic"), before=(first,), previous_reply=given)
    assert "solidarité" in text


def test_keyword_searches_joined_by_a_plus_are_two_questions(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """A " + " between two searches typed as keywords splits them (not inside a question marked "?");
    answering.yml proportion cue: "migrants part population mondiale" asks a share of the world."""
    split = kb.answering.split_questions
    assert split("oim 65e anniversaire annee + nb etats membres aujourd'hui", stop_words()) == [
        "oim 65e anniversaire annee", "nb etats membres aujourd'hui"]
    assert len(split("combien de migrants + de réfugiés ?", stop_words())) == 1
    # Marked "?" at the end, a " + " still splits when the search before it asks something.
    assert split("aide au mouvement ca englobe quoi + aide medicale pdt le voyage ?", stop_words()) == [
        "aide au mouvement ca englobe quoi", "aide medicale pdt le voyage"]
    assert len(split("1 mr a perdu ses papiers + plus d argent il est bloké ici, l oim aide ds ce cas?", stop_words())) == 1
    # One question marked "?", a word of thanks after it: split as if unmarked.
    assert split("le premier Dialogue de haut niveau c'etait quelles dates, et ca a abouti a la creation de quoi ? nanga def",
                 stop_words()) == ["le premier Dialogue de haut niveau c'etait quelles dates",
                                   "ca a abouti a la creation de quoi ? nanga def"]
    assert len(split("ki é le pei ki a acueilli le + de refujié reinstalé en 2019", stop_words())) == 1  # "le plus de"
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text="oim 65e anniversaire annee + nb etats membres aujourd'hui")
    assert "2016" in text and "166" in text
    assert analyse(kb.answering, "migrants part population mondiale").evidence == "proportion"
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text="migrants part population mondiale")
    assert "une personne sur sept" in text


def test_tricky_and_negative_questions_get_the_pages_answer(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Questions put as a doubt: "depuis combien de temps ..." asks since when, no duration
    (answering.yml duration cues); "ils prennent pas l'avion ..., ils font comment ?" asks the
    transport; "il n'y a aucun contact presse ?" asks the press contact (contact_means_cues); "à
    peine quelques milliers" names no point the pages miss (empty_words); "dla" is "de la"."""
    assert analyse(kb.answering, "depuis combien de temps l'OIM transporte des migrants ?").aspect is None
    _, text = respond(kb, index, intent="ask_movement_assistance",
                      text="Depuis combien de temps l'OIM transporte des migrants de façon sûre, à peu près ?")
    assert "70 dernières années" in text and "ne précisent pas" not in text
    _, text = respond(kb, index, intent="ask_voluntary_return", text=(
        "Pour ramener les migrants depuis la Libye ou le Yémen ils prennent pas l'avion j'imagine, ils font comment ?"))
    assert "vols charters" in text
    _, text = respond(kb, index, intent="ask_council_session", text=(
        "Je suis journaliste et j'écris sur la 110e session du Conseil de l'OIM, il n'y a aucun contact presse ?"))
    assert "ldoyle@iom.int" in text
    _, text = respond(kb, index, intent="ask_movement_assistance",
                      text="En 2021 l'OIM a aidé à se déplacer à peine quelques milliers de personnes, non ?")
    assert "118 000" in text and "« peine »" not in text
    assert kb.answering.unsms("ya dla sante aussi ?") == "il y a de la sante aussi ?"
    # "changer leurs lois" is what the pages call "modifier ... de nouvelles lois" (search_words same_meaning).
    _, text = respond(kb, index, intent="ask_migration_development",
                      text="L'OIM n'aide pas les gouvernements à changer leurs lois sur la migration, elle fait juste du terrain ?")
    assert "nouvelles lois" in text
    # Its age doubted asks when it was founded (answering.yml founding cues).
    assert analyse(kb.answering, "L'OIM c'est pas une organisation récente ?").qtype.name == "founding"
    _, text = respond(kb, index, intent="ask_iom_identity",
                      text="L'OIM c'est pas une organisation récente ? et elle a combien d'États membres en tout ?")
    assert "1951" in text and "175" in text


async def test_a_question_tagged_non_is_answered_not_taken_for_no() -> None:
    """actions.py YES_NO_INTENTS: a question on the pages ending in "non ?", read as "non" by the
    classifier, is answered as the fallback answers (here: the pages do not say), never with the
    small talk's "Très bien"; a plain "non merci" still is."""
    text = "Je suis infirmière en Malaisie et je pars travailler à Amman, je compte pas vraiment comme migrante non ?"
    names, _, _ = await _run(ActionSmallTalk(), _tracker("deny", text))
    assert "utter_deny" not in names and names
    names, _, _ = await _run(ActionSmallTalk(), _tracker("deny", "non merci"))
    assert names == ["utter_deny"]


def test_words_typed_in_capitals_mean_what_they_mean_in_lower_case(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """sentence_search SHOUTED_WORD_MIN: "les OBSERVATEURS du dialogue ... c'est qui ???" after a
    preamble ranks the Dialogue's list of observers as the lower-case question does."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue",
                      text="....... ok donc ......... les OBSERVATEURS du dialogue de haut niveau c'est qui ???")
    assert text.startswith("Observateurs :")


def test_what_a_meeting_spoke_of_is_its_themes_even_after_its_contact(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml `subjects` (its `terms` rank "débats sur trois thèmes") and followups
    `contact_types`: "et ils y parlent de quoi ?" after a reply ending with the Council's press contact
    asks about the Council, not about that contact ("il est basé où ?" still does)."""
    first = "la session du Conseil de l'OIM dure combien de temps ?"
    reply, given = respond(kb, index, intent="ask_council_session", text=first)
    assert "ldoyle@iom.int" in given  # the reply ends with the contact card
    topic = reply.slots.get("topic")
    _, text = respond(kb, index, intent="ask_capabilities", text="et ils y parlent de quoi ?", topic=topic,
                      before=(first,), previous_reply=given)
    assert "trois thèmes" in text and "ldoyle" not in text
    _, text = respond(kb, index, intent="ask_contact", text="il est basé où ?", topic=topic,
                      before=(first,), previous_reply=given)
    assert "Genève" in text and "ldoyle@iom.int" in text


def test_a_case_told_gets_the_sentence_in_the_pages_words_for_it(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml situations' `terms`: after the programme for the case, its topic's sentence using
    the pages' words for it, however weakly a long story matches it; the country of the story picks
    no sentence (Senegal is named only in a meeting's list of States)."""
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", country="Mali", text=(
        "Je vis en France depuis dix ans et je veux monter un projet dans mon village au Mali avec d'autres "
        "gens de la diaspora. L'OIM soutient ce genre de chose ?"))
    assert "faire participer leur diaspora" in text
    _, text = respond(kb, index, intent="ask_health_integration", country="Sénégal", text=(
        "Je travaille au ministère de la Santé au Sénégal, on veut que nos politiques tiennent compte des "
        "migrants. Comment l'OIM peut nous accompagner ?"))
    assert "planification des politiques" in text


def test_a_refugee_who_cannot_go_home_and_asks_for_another_country_gets_resettlement(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """answering.yml situation `refugee_cannot_go_home_wants_another_country`: years in a camp, no way
    home, another country asked for: resettlement (a third country), not a gap on "camp"."""
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text=(
        "Ça fait 8 ans que je vis dans un camp en Ouganda et je peux pas rentrer au Soudan du Sud. "
        "Il y a un moyen d'aller vivre dans un autre pays légalement ?"))
    assert "réinstallation" in text and "pays tiers" in text
    assert "ne mentionnent pas « camp »" not in text


def test_a_fear_of_harm_back_home_gets_the_risk_assessment(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml situation `fears_harm_on_return`: whoever fears prison or ill-treatment on return
    reads that the voluntary return starts with an assessment of those risks, not only its summary."""
    _, text = respond(kb, index, "fallback", intent="nlu_fallback",
                      text="j'ai peur qu'on me mette en prison si je retourne chez moi, l'OIM regarde ça ?")
    assert "retour humanitaire volontaire" in text and "évaluation des risques" in text
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", text=(
        "je suis au Yémen je veux rentrer mais j'ai peur qu'on me fasse du mal chez moi, est-ce qu'on va vérifier ça avant ?"))
    assert "évaluation des risques" in text


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("Citez-moi quelques pays où l'OIM a mené de grosses opérations de réinstallation en 2019.", "list_countries"),
        ("donnez-moi des exemples de crises", "list"),
        ("Quel accord international l'OIM cite pour dire que la migration ne peut pas être gérée par un seul ministère ?", None),
        ("avant de rentrer, l'oim donne des conseils personnalisés ?", None),
    ],
)
def test_asking_to_name_some_is_a_list_citing_is_not(kb: KnowledgeBase, text: str, asked: str | None) -> None:
    """ "citez-moi quelques pays" asks for a list; "l'accord que l'OIM cite" or "l'OIM donne des
    conseils" tell of something, they ask no list."""
    qtype = analyse(kb.answering, text).qtype
    assert (qtype.name if qtype else None) == asked


def test_an_agreement_is_a_pact_and_a_ministry_the_government(kb: KnowledgeBase) -> None:
    """search_words.yml same_meaning: "accord" ~ "Pacte", "ministère" ~ "gouvernementale": the
    fallback's closest passage (the action's own composer) is the Global Compact's."""
    text = "Quel accord international l'OIM cite pour dire que la migration ne peut pas être gérée par un seul ministère ?"
    reply = actions_module._fallback(kb, Turn(intent="nlu_fallback", text=text, said=(text,)), DOMAIN)
    assert "Pacte mondial" in render(reply)


def test_how_many_of_what_the_sentence_just_given_counts(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "dans combien de pays ?" after "... à plus de 118 000 personnes dans 125 pays": that sentence
    again ("125 pays"), not a new one without the figure (only a sentence giving the figure of the
    very thing counted is said again: the QA replay checks "ils sont combien par an ?" still is not)."""
    first = "L'OIM a transporté combien de personnes en 2021 ?"
    reply, given = respond(kb, index, intent="ask_movement_assistance", text=first)
    assert "125 pays" in given
    _, text = respond(kb, index, intent="ask_presence", text="dans combien de pays ?", topic=reply.slots.get("topic"),
                      before=(first,), previous_reply=given)
    assert "125 pays" in text


def test_tied_items_of_a_list_go_to_the_one_naming_the_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """The title words ("dialogue de haut niveau") rank none of the topic's sentences above another,
    but among the items of one list as good as each other, the one naming them answers."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue", topic="event.high_level_dialogues",
                      text="le dialogue de haut niveau qui a eu lieu en 2013 c'était quel mois ?")
    assert "octobre 2013" in text and "25 juin 2013" not in text


def test_a_follow_up_word_naming_a_list_heading_gets_its_items(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "observatrices" is in no item, only in their list's heading "Observateurs": the second
    question gets that list, not the topic's own sentence sharing nothing with it."""
    _, text = respond(kb, index, intent="ask_high_level_dialogue", text=(
        "Qui assure le secrétariat du dialogue de haut niveau sur les migrations, et quelles agences y sont observatrices ?"))
    assert "Division de la population" in text and "UNICEF" in text


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("D'après le directeur général, quels cas sont les plus graves quand un pays n'a pas de structures d'accueil ?", "list"),
        ("quels risques quand les migrants arrivent ?", "list"),
        ("quand le premier dialogue a eu lieu ?", "date"),  # asks when, nothing else does
        ("quand la table ronde s'est tenue ?", "date"),
    ],
)
def test_when_followed_by_a_subject_joins_a_clause_after_a_question(kb: KnowledgeBase, text: str, asked: str) -> None:
    """answering.yml not_question_words: "quand un pays n'a pas ..." after "quels cas ...?" is a
    conjunction; alone in the question, "quand le premier dialogue ...?" still asks when."""
    qtype = analyse(kb.answering, text).qtype
    assert qtype is not None and qtype.name == asked


def test_how_many_people_it_employs_is_the_staff_gap(kb: KnowledgeBase) -> None:
    """answering.yml aspect `staff`: "l'OIM emploie combien de personnes ?" asks its staff count,
    which the pages do not give (not how many people it helps)."""
    analysis = analyse(kb.answering, "L'OIM emploie combien de personnes au total dans le monde ?")
    assert analysis.aspect is not None and analysis.aspect.name == "staff"
    assert analyse(kb.answering, "l'OIM aide combien de personnes dans le monde ?").aspect is None


def test_a_figure_of_the_thing_counted_ranks_its_sentence_first(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """ "devant combien d'États membres ... ?" (the member states' title words left out of the search):
    the sentence saying "aux 173 Etats membres", not the article's title holding another figure."""
    _, text = respond(kb, index, intent="ask_beneficiaries", ranked_intents=("ask_beneficiaries", "ask_council_session"),
                      text="Devant combien d'États membres le DG a parlé au Conseil, et combien de bénéficiaires l'OIM a aidés en 2018 ?")
    assert "173 Etats membres" in text and "30 millions" in text


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("Au Yémen, par quels moyens ils font partir les gens qui rentrent ?", "transport"),
        ("par quel moyen je peux demander de l'aide ?", None),  # a way to do something, not a transport
    ],
)
def test_by_what_means_people_leave_asks_the_transport(kb: KnowledgeBase, text: str, aspect: str | None) -> None:
    """answering.yml aspect `transport`: "par quels moyens ils font partir les gens" asks how they travel."""
    found = analyse(kb.answering, text).aspect
    assert (found.name if found else None) == aspect


def test_the_year_after_the_one_asked_before_is_that_year_plus_one(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml `year_after` / `year_before`: "et l'année d'après ?" after a question on 2018 asks
    about 2019 ("encore plus en 2019"); with no year asked before, the words stay as typed."""
    rules = kb.answering
    assert rules.with_year_told("et l'année d'après ?", ["il a dit combien de personnes aidées en 2018 ?"]) == "et en 2019 ?"
    assert rules.with_year_told("et l'année précédente ?", ["et en 2019 ?"]) == "et en 2018 ?"
    assert rules.with_year_told("et l'année d'après ?", ["bonjour"]) == "et l'année d'après ?"
    _, text = respond(kb, index, intent="ask_council_session", topic="event.council_110", text="et l'année d'après ?",
                      before=("Qui est le directeur général de l'OIM ?", "il a dit combien de personnes aidées en 2018 ?"))
    assert "encore plus en 2019" in text


def test_each_of_two_questions_gets_an_answer_even_when_one_is_its_topics_own(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """A question of two whose best answer is its topic's curated one gets that answer (it was left
    out: "combien de personnes aidées en 2021 ?" beside the resettlement's three countries); two
    questions each marked "?" are two even when the speaker says "on" with a programme's words."""
    _, text = respond(kb, index, "fallback", intent="nlu_fallback", programme="resettlement",
                      ranked_intents=("ask_resettlement", "ask_movement_assistance"), text=(
                          "Combien de personnes l'OIM a aidé à se déplacer en 2021 ? Et quels étaient les trois "
                          "premiers pays de réinstallation en 2019 ?"))
    assert "118 000" in text and "Canada" in text
    _, text = respond(kb, index, intent="ask_voluntary_return", country="Yémen", text=(
        "Sur quels critères on est examiné pour un retour volontaire ? et comment se fait le transport depuis le Yémen ?"))
    assert "aptitude médicale" in text and "vols charters" in text


def test_a_speaker_addressing_states_is_no_request_for_an_address(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """answering.yml contact_cues: "l'adresse" asks a contact, "le DG s'est adressé aux États" does not;
    the second of two questions saying so was sent to the contacts and got nothing (173 left out)."""
    rules = kb.answering
    assert rules.asks_contact("c'est quoi l'adresse de l'unité ?")
    assert not rules.asks_contact("à combien d'États membres le DG s'est adressé au Conseil ?")
    _, text = respond(kb, index, intent="ask_beneficiaries", text=(
        "Combien de bénéficiaires l'OIM a aidés en 2018 et à combien d'États membres le DG s'est adressé au Conseil ?"))
    assert "30 millions" in text and "173" in text


def test_a_name_the_pages_define_is_answered_by_its_definition(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"c'est quoi CRISP ?" and "et CRISP ?" get the sentence defining it ("(CRISP) est une initiative
    menée par le HCR et l'OIM"), not only the summary of the topic naming it; a name most sentences
    use ("l'OIM") keeps its topic's answer."""
    _, text = respond(kb, index, intent="ask_complementary_pathways", text="c'est quoi CRISP ?")
    assert "voies complémentaires durables (CRISP) est une initiative" in text
    _, text = respond(kb, index, intent="ask_voluntary_return", text=(
        "L'OIM fait des retours volontaires depuis quels pays ? et CRISP ?"))
    assert "Yémen" in text and "(CRISP) est une initiative" in text
    _, text = respond(kb, index, intent="ask_iom_identity", text="c'est quoi l'OIM ?")
    assert "des cendres" not in text


def test_an_aspect_intent_without_its_cue_is_not_the_aspect_when_the_question_brings_words(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """"en soutien à qui ?" after the repatriation, read by the classifier as who may benefit, asks whom
    the OIM supports ("en soutien aux activités de rapatriement du HCR"); "c'est pour qui ?" still gets
    the curated answer on who may benefit."""
    before = ("le rapatriement volontaire des réfugiés, c'est l'OIM qui le fait ?",)
    _, text = respond(kb, index, intent="ask_programme_eligibility", topic="programme.repatriation",
                      programme_slot="repatriation", text="en soutien à qui ?", before=before)
    assert "HCR" in text
    _, text = respond(kb, index, intent="ask_programme_eligibility", topic="programme.repatriation",
                      programme_slot="repatriation", text="c'est pour qui ?", before=before)
    assert "relevant de la compétence de l’OIM" in text


def test_a_contact_request_naming_several_topics_by_one_word_gets_the_topic_named_most(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """"migration" names the Dialogues, the Forum and the migration and development; "... la migration
    et le développement durable ..." names the last by more words: its contact, not the Dialogues'."""
    _, text = respond(kb, index, mode="fallback", intent="nlu_fallback", text=(
        "Notre collectivité locale veut monter un projet sur la migration et le développement durable avec "
        "l'OIM, à quel courriel nous adresser ?"))
    assert "migration4development@iom.int" in text and "migrationp@un.org" not in text


def test_who_decides_is_asked_without_the_cue_words(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"à l'initiative de qui ... ?", "qui décide ... ?": a person or body, not CRISP's "initiative" nor
    the resolution that "décidé" something."""
    for text in (
        "Le retour humanitaire volontaire part de quels pays, et à l'initiative de qui les retours sont-ils organisés ?",
        "le retour humanitaire volontaire part de quels pays et qui décide du retour ?",
    ):
        _, shown = respond(kb, index, intent="ask_voluntary_return", text=text, programme="voluntary_return")
        assert "Libye" in shown and "demande de la personne" in shown, shown
        assert "CRISP" not in shown and "58/208" not in shown


def test_a_part_on_the_organisation_itself_takes_the_ranked_intent_whose_summary_shows_what_is_asked(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """Unsure of the whole message, the classifier ranked its presence then its history: "existe
    depuis quand" is the history's (a founding date), "combien de structures" the presence's."""
    _, shown = respond(kb, index, mode="fallback", intent="nlu_fallback",
                       text="l'oim existe depuis quand et elle a combien de structures hors siège ?",
                       ranked_intents=("ask_presence", "ask_iom_history"))
    assert "1951" in shown and "400" in shown


def test_the_setting_of_a_question_is_no_point_it_asks_and_a_year_anchors_the_sentence(
    kb: KnowledgeBase, index: SentenceIndex
) -> None:
    """"Dans la chronologie des crises ..., quel événement est associé à 1975 ?": "chronologie" is
    the setting, not a point the pages are silent on; the history's sentence naming 1975 answers."""
    _, shown = respond(kb, index, intent="ask_iom_history",
                       text="Dans la chronologie des crises de l'OIM, quel événement est associé à 1975 ?")
    assert "boat people" in shown and "ne mentionnent pas" not in shown


def test_who_asked_by_a_body_s_name_is_searched_without_that_word(kb: KnowledgeBase) -> None:
    """"avec quel organisme de l'ONU ?": "organisme" names nothing to look for (it found "De
    l'organisme au service de la réinstallation ..."); "quels observateurs ?" keeps its word."""
    organisme = analyse(kb.answering, "et avec quel organisme de l'onu ?")
    assert organisme.qtype is not None and organisme.qtype.cue_names_nothing
    assert "organisme" not in organisme.qtype.without_cues("et avec quel organisme de l'onu ?")
    observers = analyse(kb.answering, "quels observateurs participent au dialogue ?")
    assert observers.qtype is not None and not observers.qtype.cue_names_nothing


def test_contact_requests_in_other_words(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"je peux appeler qui pour ... ?" asks whom to contact; "Il y a un e-mail pour ... au DAES ?"
    asks the contact the message names (the classifier unsure of its intent)."""
    _, shown = respond(kb, index, intent="ask_council_session",
                       text="Je suis journaliste, je peux appeler qui pour la session du Conseil de l'OIM ?")
    assert "+41 79 285 7123" in shown
    _, shown = respond(kb, index, mode="fallback", intent="nlu_fallback", contact_target="un_desa",
                       text="Il y a un e-mail pour poser des questions au DAES sur les migrations internationales ?")
    assert "migrationp@un.org" in shown and "ldoyle@iom.int" not in shown



def test_a_sentence_of_the_topics_own_section_keeps_the_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Pour ce faire, l'OIM aide les gouvernements à « intégrer » la migration ..." is cited by what
    the OIM is, but stands in the migration and development's section: the conversation stays on it
    (the follow-up "ça touche quels domaines ?" is about it)."""
    reply, shown = respond(kb, index, intent="ask_migration_development",
                           text="Comment l'OIM aide les gouvernements à intégrer la migration dans leurs politiques ?")
    assert "planification des politiques" in shown
    assert reply.slots.get("topic") == "framework.migration_development"


def test_the_programme_named_by_the_second_question_is_not_the_firsts(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"combien de personnes ... en 2021, et depuis quels pays se fait le retour humanitaire volontaire ?":
    "retour" is read as a word of the question there, but still names the programme of the second part."""
    _, shown = respond(kb, index, intent="ask_movement_assistance", programme="voluntary_return", text=(
        "Ma tante demande : combien de personnes l'OIM a aidé à se déplacer en 2021, et depuis quels pays "
        "se fait le retour humanitaire volontaire ?"))
    assert "118 000" in shown and "Libye" in shown and "ne précisent pas" not in shown


def test_a_telephone_in_the_story_is_no_contact_asked(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Il m'a dit au téléphone qu'il veut rentrer au Mali. ... quelqu'un peut l'aider à rentrer ?":
    the telephone is how the brother told it; the question asks for help to go home (the voluntary
    return), not for a contact in Mali. Asked in its own question sentence, it is one."""
    text = ("Mon petit frère est enfermé dans un centre en Libye depuis cinq mois. Il m'a dit au téléphone qu'il "
            "veut juste rentrer à la maison au Mali, il a abandonné l'idée de l'Europe. Est-ce que quelqu'un peut "
            "l'aider à rentrer ?")
    reply, shown = respond(kb, index, intent="ask_voluntary_return", text=text, country="Mali", country_said="Mali",
                           programme="voluntary_return")
    assert "retour humanitaire volontaire" in shown and "utter_no_contact_for_country" not in responses(reply), shown
    assert focused._asks_contact_means(kb, "Mon frère est en Libye. Quel est le numéro de téléphone de l'OIM ?")


def test_a_question_on_what_few_sentences_show_needs_no_topic(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"c quoi le hashtag sur la page des 65 ans": no topic, no word of its own, yet what it asks
    (a hashtag) is shown by one unit of the pages: that unit, not "Pouvez-vous préciser ?"."""
    reply, shown = respond(kb, index, "fallback", intent=DEFAULT_NLU_FALLBACK_INTENT_NAME,
                           text="c quoi le hashtag sur la page des 65 ans")
    assert "#formigration" in shown and "utter_clarify" not in responses(reply), shown
    assert index.is_scarce("hashtag") and not index.is_scarce("date") and not index.is_scarce("none")


def test_a_celebration_finds_the_anniversary(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"elle a fêté combien d'ans en 2016": the pages say "65e anniversaire" (search_words.yml)."""
    hits = index.rank("l oim elle a fêté combien d'ans en 2016", None, "none", k=1)
    assert "65e anniversaire" in hits[0].unit.text, hits[0].unit.text


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("Madame, Monsieur,\nJe souhaiterais connaître la date du deuxième Dialogue. Dans l'attente de votre réponse, "
         "je vous adresse mes respectueuses salutations.\nProf. Ndiaye", "Je souhaiterais connaître la date du deuxième Dialogue."),
        ("l'OIM a été fondée en quelle année ? Merci d'avance. Cordialement, Inès", "l'OIM a été fondée en quelle année ?"),
        ("Monsieur le directeur général de l'OIM, c'est qui ?", "Monsieur le directeur général de l'OIM, c'est qui ?"),  # no salutation
        ("Merci de me dire quand a eu lieu le premier dialogue.", "Merci de me dire quand a eu lieu le premier dialogue."),
        ("merci beaucoup", "merci beaucoup"),  # formulas only: left as typed
    ],
)
def test_letter_formulas_around_a_question_are_taken_out(kb: KnowledgeBase, typed: str, read: str) -> None:
    assert kb.answering.without_courtesy(typed) == read


def test_a_formal_letter_asks_no_delay_nor_office(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"Dans l'attente de votre réponse, je vous adresse mes salutations": no waiting time asked,
    no office address; the date asked is answered."""
    text = ("Madame, Monsieur, Dans le cadre de mes recherches, je souhaiterais connaître la date du deuxième Dialogue "
            "de haut niveau sur les migrations internationales et le développement. Dans l'attente de votre réponse, "
            "je vous adresse mes respectueuses salutations. Prof. Ndiaye")
    _, shown = respond(kb, index, intent="ask_high_level_dialogue", text=text)
    assert "2013" in shown and "ne précisent pas" not in shown, shown
    assert analyse(kb.answering, "##").qtype is None  # decoration, not the pages' hashtag
    assert analyse(kb.answering, "c'est quoi #formigration ?").qtype.name == "hashtag"


@pytest.mark.parametrize(
    ("text", "qtype"),
    [
        # dictated by voice, no question mark: the question word ends the message
        ("dans votre texte il y a un professionnel de la santé qui quitte la Malaisie il va s'installer où", "place"),
        ("et il a fait son discours où", "place"),
        ("au conseil il y a un pays qui a demandé à devenir membre c'est lequel", "list_countries"),
        ("c t ou", "place"),  # "c'était où": one letter before "ou" is no word
    ],
)
def test_a_question_word_ending_a_message_without_question_mark_asks(kb: KnowledgeBase, text: str, qtype: str) -> None:
    analysis = analyse(kb.answering, kb.answering.unsms(text))
    assert analysis.qtype is not None and analysis.qtype.name == qtype, analysis.qtype


def test_a_dictated_question_on_a_page_sentence_is_answered(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """Read as out of scope by the classifier, the question names a page sentence's words and asks
    where (no "?"): that sentence, not "je ne peux répondre qu'aux questions sur l'OIM"."""
    text = "dans votre texte sur l'histoire il y a un exemple d'un professionnel de la santé qui quitte la Malaisie il va s'installer où"
    _, shown = respond(kb, index, "out_of_scope", intent="out_of_scope", text=text, country="Malaisie",
                       country_said="Malaisie")
    assert "Jordanie" in shown, shown


def test_teenagers_and_young_people_find_the_minors(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"les ados", "ces jeunes": the pages say "mineurs non accompagnés" (search_words.yml)."""
    hits = index.rank("le directeur général a-t-il parlé des ados arrivés sans parents ?", kb.entry("event.council_110"), "none", k=1)
    assert "mineurs non accompagnés" in hits[0].unit.text, hits[0].unit.text


def test_a_menu_item_answers_only_for_a_topic_citing_the_menu(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"le chef de l'OIM parle des enfants ... ?" of the Council got the menu's "Bureau du Chef de
    Cabinet" (a few words, one of them asked); the leadership topic, which cites the menu, still
    finds its items."""
    question = "Dans l'article sur le Conseil, le chef de l'OIM parle des enfants qui voyagent seuls ?"
    _, shown = respond(kb, index, intent="ask_council_session", text=question)
    assert "Chef de Cabinet" not in shown, shown
    council = index.rank("le chef de l'OIM parle des enfants qui voyagent seuls ?", kb.entry("event.council_110"), "none", k=20)
    assert not any("Chef de Cabinet" in h.unit.text for h in council)
    assert any("Chef de Cabinet" in h.unit.text for h in index.rank("le bureau du chef de cabinet", None, "none", k=5))


def test_a_common_word_of_the_topic_naming_another_keeps_the_follow_up(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"vitorino il a parlé où" / "devant cb d'États ?", read by the classifier as the member states:
    "États" is a common word the Council's own texts use, so the follow-up stays on the Council
    (173 States), not on the Dialogue's list of 195 participating States."""
    _, shown = respond(kb, index, intent="ask_member_states", text="devant cb d etats ?", topic="event.council_110",
                       before=("vitorino il a parlé ou",))
    assert "173" in shown and "195" not in shown, shown


def test_what_is_checked_finds_what_is_examined(kb: KnowledgeBase, index: SentenceIndex) -> None:
    """"on vérifie quoi avant de faire partir quelqu'un ?": the pages say each migrant "est examiné en
    fonction d'un ensemble de critères" (search_words.yml: the forms of vérifier and examiner)."""
    hits = index.rank("on vérifie quoi avant de faire partir quelqu'un", kb.entry("programme.voluntary_return"), "none", k=1,
                      within_topic=True)
    assert "examiné en fonction" in hits[0].unit.text, hits[0].unit.text
