"""bot.knowledge.regex_cache: the cached program behaves exactly like Python's own compilation."""

from __future__ import annotations

import json
import re
import sre_compile
from pathlib import Path

import pytest

from bot.knowledge import regex_cache

# Words spaCy's French TOKEN_MATCH is about (hyphens, elisions) and words it must leave alone.
FRENCH_WORDS = [
    "aujourd'hui", "anti-migrants", "porte-parole", "l'OIM", "c'est", "Saint-Étienne", "ex-président",
    "rendez-vous", "qu'est-ce", "arc-en-ciel", "https://www.iom.int/fr", "ldoyle@iom.int", "Yémen",
    "bonjour", "12-15", "État", "ÉTATS-UNIS", "sous-directeur", "bloqué", "—", "",
]


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OIM_CACHE_DIR", str(tmp_path))
    regex_cache.install()
    return tmp_path / "regex"


def spacy_french_pattern() -> str:
    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH

    return TOKEN_MATCH.__self__.pattern


def big_pattern_with_groups() -> str:
    words = "|".join(f"mot{i}" for i in range(3000))
    return rf"(?i)(?P<debut>\b(?:{words})\b)-(?P<fin>[a-zàâçéèêëîïôûùüÿœ]+)|(\d+)"


def fresh(pattern: str, flags: int = 0) -> re.Pattern:
    """Python's own compilation, bypassing both re's in-memory cache and ours."""
    original = regex_cache._original_compile or sre_compile.compile
    return original(pattern, flags)


def test_spacy_french_pattern_is_long_enough_to_be_cached() -> None:
    assert len(spacy_french_pattern()) >= regex_cache.MIN_PATTERN_CHARS


def test_spacy_token_match_same_answers_from_the_cache(cache_dir: Path) -> None:
    pattern = spacy_french_pattern()
    written = regex_cache.cached_compile(pattern, 0)  # computes and writes the entry
    assert len(list(cache_dir.glob("*.json"))) == 1
    read = regex_cache.cached_compile(pattern, 0)  # from the file
    reference = fresh(pattern)
    for compiled in (written, read):
        assert (compiled.pattern, compiled.flags, compiled.groups) == (reference.pattern, reference.flags, reference.groups)
        for word in FRENCH_WORDS:
            assert bool(compiled.match(word)) == bool(reference.match(word)), word


def test_groups_and_flags_survive_the_cache(cache_dir: Path) -> None:
    pattern = big_pattern_with_groups()
    regex_cache.cached_compile(pattern, re.UNICODE)
    compiled = regex_cache.cached_compile(pattern, re.UNICODE)
    reference = fresh(pattern, re.UNICODE)
    assert compiled.groupindex == reference.groupindex == {"debut": 1, "fin": 2}
    assert compiled.flags == reference.flags
    for text in ["MOT12-été", "mot2999-x", "mot3000-x", "x 42", "mot7-", "Mot1-Œuvre"]:
        a, b = compiled.search(text), reference.search(text)
        assert (a and (a.span(), a.groups())) == (b and (b.span(), b.groups())), text


def test_a_second_start_does_not_compile_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = big_pattern_with_groups()
    regex_cache.cached_compile(pattern, 0)

    def must_not_compile(*args: object) -> None:
        raise AssertionError("compiled although the cache has the program")

    monkeypatch.setattr(regex_cache, "compile_program", must_not_compile)
    assert regex_cache.cached_compile(pattern, 0).search("mot5-abc").group("fin") == "abc"


@pytest.mark.parametrize("garbage", ["not json", json.dumps({"code": "x"}), json.dumps({"flags": 0, "code": [1, 2],
                                      "groups": 0, "groupindex": {}, "indexgroup": []})])
def test_a_broken_cache_entry_falls_back_to_compiling(cache_dir: Path, garbage: str) -> None:
    pattern = big_pattern_with_groups()
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / f"{regex_cache.cache_key(pattern, 0)}.json").write_text(garbage, encoding="utf-8")
    assert regex_cache.cached_compile(pattern, 0).search("mot5-abc").group("debut") == "mot5"


def test_an_unwritable_cache_still_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("OIM_CACHE_DIR", str(blocker))
    regex_cache.install()
    assert regex_cache.cached_compile(big_pattern_with_groups(), 0).search("x 42").group(3) == "42"


def test_short_patterns_are_left_to_python(cache_dir: Path) -> None:
    assert regex_cache.cached_compile(r"\d+", 0).match("123")
    assert not cache_dir.exists() or not list(cache_dir.glob("*.json"))


def test_another_sre_compile_is_left_alone(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The cache repeats Python 3.10's sre_compile.compile: any other version keeps Python's own (guard)."""
    def compile(p: object, flags: int = 0) -> object:  # noqa: A001 - stands for another Python's sre_compile.compile
        return original(p, flags)

    original = regex_cache._original_compile or sre_compile.compile
    monkeypatch.setattr(regex_cache, "_original_compile", None)
    monkeypatch.setattr(sre_compile, "compile", compile)
    with caplog.at_level("WARNING"):
        assert regex_cache.install() is False
    assert sre_compile.compile is compile and regex_cache._original_compile is None
    assert "speed-up NOT applied (regex cache)" in caplog.text


def test_python_310s_sre_compile_gets_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    original = regex_cache._original_compile or sre_compile.compile
    monkeypatch.setattr(regex_cache, "_original_compile", None)
    monkeypatch.setattr(sre_compile, "compile", original)
    assert regex_cache.install() is True
    assert sre_compile.compile is regex_cache.cached_compile and regex_cache._original_compile is original
