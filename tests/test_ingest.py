"""Ingest: pages (data/pages) -> passage files and contacts, deterministic, robust to bad files."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge import ingest, paths
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.textnorm import collapse_whitespace
from bot.knowledge.validate import validate_dir
from bot.knowledge.yamlio import write_atomic

PAGES = paths.pages_dir()
KNOWLEDGE = paths.knowledge_dir()
CURATED = ("sources.yml", "contacts_curated.yml", "entries")


def _generated_files(root: Path) -> dict[str, bytes]:
    files = sorted(paths.passages_dir(root).glob("*.yml")) + [paths.contacts_file(root)]
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in files}


def _curated_copy(target: Path) -> Path:
    """A knowledge folder holding only the hand-written files (what ingest starts from)."""
    target.mkdir(parents=True)
    for name in CURATED:
        source = KNOWLEDGE / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy2(source, target / name)
    return target


def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_ingesting_the_pages_reproduces_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    committed = _generated_files(KNOWLEDGE)
    pages = list(PAGES.glob("*.txt"))
    assert pages and len(committed) == len(pages) + 1
    for name in ("first", "second"):
        out = _curated_copy(tmp_path / name)
        report = ingest.ingest([PAGES], out)
        assert report.ok, report.errors
        assert report.warnings == []
        assert _generated_files(out) == committed


def test_reingesting_in_the_repo_layout_changes_nothing(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, copy)
    report = ingest.ingest([PAGES], copy)
    assert report.ok, report.errors
    assert report.written == []  # identical content: not even rewritten
    assert _generated_files(copy) == _generated_files(KNOWLEDGE)


def test_repeated_site_navigation_is_removed_from_passages_but_kept_for_quotes() -> None:
    for path in sorted(paths.passages_dir(KNOWLEDGE).glob("*.yml")):
        document = _read(path)
        texts = [p["text"] for p in document["passages"]]
        assert not any("Travailler avec nous" in text or "Engagez-vous" in text for text in texts)
        navigation = document["navigation"][0]["text"]
        assert "Travailler avec nous" in navigation
        assert "Etats membres" in navigation  # the site tagline stays quotable


def test_passages_keep_sections_and_list_items_with_their_heading() -> None:
    returns = _read(paths.passages_dir(KNOWLEDGE) / "002_e7c62706a1bc81c1.yml")["passages"]
    libya = next(p for p in returns if "depuis la Libye et le Yémen" in p["text"])
    assert libya["section"] == "Le retour humanitaire volontaire"
    dialogues = _read(paths.passages_dir(KNOWLEDGE) / "003_f92822551191ed11.yml")["passages"]
    axes = next(p for p in dialogues if p["section"] == "Axes stratégiques actuels")
    assert axes["text"].splitlines()[0] == "- Migration et développement"
    assert "- Partenariats et coopération en matière de migration" in axes["text"]
    ids = [p["id"] for p in dialogues]
    assert ids == [f"003_f92822551191ed11.p{n:03d}" for n in range(1, len(ids) + 1)]


def test_contacts_are_extracted_exactly_as_written() -> None:
    contacts = {c["id"]: c for c in _read(paths.contacts_file(KNOWLEDGE))["contacts"]}
    press = contacts["contact.press"]
    assert (press["name"], press["emails"], press["phones"]) == (
        "Leonard Doyle", ["ldoyle@iom.int"], ["+41 79 285 7123"],
    )  # fmt: skip
    desa = contacts["contact.un_desa"]
    assert desa["faxes"] == ["+ 1-212-963-2147"] and desa["emails"] == ["migrationp@un.org"]
    assert desa["phones"] == []
    assert "2 United Nations Plaza" in desa["address"] and "NY 10017" in desa["address"]
    assert contacts["contact.md_unit"]["emails"] == ["migration4development@iom.int"]


NAV = ["Accueil", "Accueil", "- Nos actions", "-", "Nous contacter", "Nous contacter"]


def _page(body: list[str]) -> str:
    return "\n".join([*NAV, *body]) + "\n"


def test_bad_files_are_reported_one_by_one_and_the_good_ones_still_ingested(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    good = [
        "Atelier fictif de test",
        "Ce texte fictif décrit un atelier imaginaire organisé pour vérifier l'ingestion des pages.",
    ]
    (pages / "a_good.txt").write_text(_page(good), encoding="utf-8")
    (pages / "b_good.txt").write_text(
        _page(["Une autre page fictive, écrite pour les tests."]), encoding="utf-8"
    )
    (pages / "c_empty.txt").write_bytes(b"")
    (pages / "d_binary.txt").write_bytes(bytes(range(256)) * 4)
    (pages / "e_latin1.txt").write_bytes("Une page fictive accentuée : réfugiés.\n".encode("latin-1"))
    (pages / "f_no_text.txt").write_text("-\n- \n***\n", encoding="utf-8")
    (pages / "g_navigation_only.txt").write_text(_page([]), encoding="utf-8")
    out = tmp_path / "knowledge"

    report = ingest.ingest([pages], out)

    assert report.pages == ["a_good.txt", "b_good.txt"]
    warnings = "\n".join(report.warnings)
    assert "c_empty.txt: skipped: the file is empty" in warnings
    assert "d_binary.txt: skipped: looks like a binary file" in warnings
    assert "e_latin1.txt: skipped: is not UTF-8 (byte 0xe9 at offset 24)" in warnings
    assert "f_no_text.txt: skipped: contains no text" in warnings
    assert "g_navigation_only.txt: skipped: no text left once the site navigation is removed" in warnings
    assert len(report.warnings) == 5
    written = sorted(p.name for p in paths.passages_dir(out).iterdir())
    assert written == ["a_good.yml", "b_good.yml"]  # nothing for bad files, no temp file left over
    passages = _read(paths.passages_dir(out) / "a_good.yml")["passages"]
    assert passages == [{"id": "a_good.p001", "section": good[0], "text": good[1]}]


def test_ingest_command_exit_codes(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.txt").write_text(_page(["Première page fictive de test, sans contact."]), encoding="utf-8")
    (pages / "b.txt").write_text(_page(["Deuxième page fictive de test, sans contact."]), encoding="utf-8")
    (pages / "c.txt").write_bytes(b"\xff\xfe\x00\x00")

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        ingest.register(parser.add_subparsers())
        args = parser.parse_args(["ingest", *argv])
        return args.func(args)

    assert run(str(pages), "--out", str(tmp_path / "k1")) == 0  # a skipped file is a warning
    assert run(str(pages), "--out", str(tmp_path / "k2"), "--strict") == 1
    assert run(str(pages / "c.txt"), "--out", str(tmp_path / "k3")) == 1  # nothing ingested

    default = _curated_copy(tmp_path / "k4")  # `make ingest`: no argument, the pages of data/pages
    assert run("--out", str(default)) == 0
    assert _generated_files(default) == _generated_files(KNOWLEDGE)


def test_atomic_write_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.yml"
    assert write_atomic(target, "version: 1\n")
    assert not write_atomic(target, "version: 1\n")  # unchanged content is not rewritten

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomic(target, "version: 2\n")
    assert target.read_text() == "version: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["file.yml"]


SIXTH_PAGE = """\
Atelier fictif « Parler pour s’intégrer » (données de test)
Cette page est un exemple entièrement fictif, écrit pour tester l’ajout d’une sixième page. Elle décrit un programme imaginaire d’ateliers de conversation destiné aux nouveaux arrivants, animé par des bénévoles dans des bibliothèques de quartier.
- Qui peut participer
-
Les ateliers fictifs sont ouverts aux adultes arrivés récemment, quel que soit leur niveau de langue. Chaque groupe réunit une dizaine de participants autour de thèmes de la vie quotidienne : la santé, le logement, l’école des enfants.
- Coordonnées
-
Pour toute question sur ces ateliers imaginaires, écrivez à ateliers.fictifs@example.org.
"""


def test_a_sixth_page_becomes_passages_contacts_and_search_results_without_code_change(
    tmp_path: Path,
) -> None:
    pages = tmp_path / "pages"
    shutil.copytree(PAGES, pages)
    site_navigation = (PAGES / "001_98e9420aea1512b1.txt").read_text(encoding="utf-8").splitlines()[:29]
    (pages / "005_fictional_test_page.txt").write_text(
        "\n".join(site_navigation) + "\n" + SIXTH_PAGE, encoding="utf-8"
    )
    out = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, out)

    report = ingest.ingest([pages], out)

    assert report.ok, report.errors
    new = _read(paths.passages_dir(out) / "005_fictional_test_page.yml")
    title = "Atelier fictif « Parler pour s’intégrer » (données de test)"
    assert new["source"]["title"] == title  # derived: the page is not in sources.yml
    assert [p["section"] for p in new["passages"]] == [title, "Qui peut participer", "Coordonnées"]
    assert "Travailler avec nous" not in yaml.safe_dump(new["passages"], allow_unicode=True)
    generated = _generated_files(out)
    for name, content in _generated_files(KNOWLEDGE).items():
        if name != "contacts.yml":
            assert generated[name] == content, f"{name} changed when a page was added"
    assert validate_dir(out, pages) == []
    kb = KnowledgeBase.load(out)
    contact = next(c for c in kb.contacts_for() if "ateliers.fictifs@example.org" in c.emails)
    assert contact.id == "contact.ateliers_fictifs_example_org"
    assert contact.source == "005_fictional_test_page.p003"
    hits = kb.search("atelier de conversation pour les nouveaux arrivants dans les bibliotheques")
    assert hits[0].passage_id == "005_fictional_test_page.p001"
    assert hits[0].title == title


def test_navigation_is_detected_from_repetition_not_from_a_list() -> None:
    from bot.knowledge.navigation import repeated_lines, split_layout

    header = ["Menu du site", "- Rubrique A", "-", "- Rubrique B"]
    footer = ["Mentions légales", "Plan du site"]
    pages = [
        [*header, f"Titre {n}", f"Contenu propre à la page {n}, avec une phrase complète.", *footer]
        for n in range(3)
    ]
    pages.append(["Menu du site", "Une variante de menu", *header[1:], "Titre 3", "Texte 3.", *footer])
    repeated = repeated_lines(pages)
    for page in pages:
        layout = split_layout(page, repeated)
        assert layout.body[0].startswith("Titre") and len(layout.body) == 2
        assert list(layout.footer) == footer
    assert split_layout(pages[3], repeated).header[1] == "Une variante de menu"
    assert repeated_lines(pages[:1]) == frozenset()  # one page: nothing can be called navigation


def test_long_paragraphs_are_cut_at_sentence_ends_without_changing_the_text() -> None:
    from bot.knowledge.passages import MAX_PASSAGE_WORDS, split_passages

    sentences = [
        f"Phrase numéro {n} d'un long paragraphe fictif, écrite par M. Test pour l'essai." for n in range(30)
    ]
    paragraph = " ".join(sentences)
    passages = split_passages(["- Titre de section", "-", paragraph, "- un élément", "- un autre élément"])
    texts = [p.text for p in passages]
    assert " ".join(texts[:-1]) == paragraph  # whole sentences, verbatim, in order
    assert all(len(t.split()) <= MAX_PASSAGE_WORDS * 1.2 for t in texts[:-1]) and len(texts) > 3
    assert texts[-1] == "- un élément\n- un autre élément"  # a list stays whole
    assert {p.section for p in passages} == {"Titre de section"}


_WORDS = ["migration", "réfugiés", "aide", "retour", "Libye", "OIM", "pays", "santé", "famille", "M."]
_line = st.one_of(
    st.just("-"),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join),  # title-like
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=5).map(lambda w: "- " + " ".join(w)),
    st.lists(  # a paragraph of 1-12 sentences
        st.lists(st.sampled_from(_WORDS), min_size=3, max_size=25).map(
            lambda w: " ".join(w).capitalize() + "."
        ),
        min_size=1,
        max_size=12,
    ).map(" ".join),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_line, max_size=25))
def test_splitting_never_loses_or_invents_text(body: list[str]) -> None:
    from bot.knowledge.passages import LineKind, classify, split_passages

    passages = split_passages(body)
    assert passages == split_passages(body)  # deterministic
    assert [p.number for p in passages] == list(range(1, len(passages) + 1))
    texts = collapse_whitespace(" ".join(p.text for p in passages))  # long paragraphs are cut
    for index, line in enumerate(body):
        kind = classify(line)
        followed_by_separator = index + 1 < len(body) and classify(body[index + 1]) is LineKind.SEPARATOR
        if kind is LineKind.PARAGRAPH or (kind is LineKind.ITEM and not followed_by_separator):
            assert collapse_whitespace(line) in texts, line  # running text and items are kept
    headings = {line[2:] if line.startswith("- ") else line for line in body}
    for passage in passages:  # nothing invented: sections are input lines, texts parts of them
        assert passage.section == "" or passage.section in headings
        for part in passage.text.split("\n"):
            assert any(part in line for line in body)
