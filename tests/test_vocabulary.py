"""Company vocabulary: packaged data, aliases, roles, and user extension files with clear errors."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.vocabulary import (
    Mention,
    VocabularyError,
    _mention,
    has_hangul_or_cjk,
    load_vocabulary,
    non_ascii_positions,
    normalize_text,
    tokenize,
)


@pytest.fixture(scope="module")
def vocab():  # type: ignore[no-untyped-def]
    return load_vocabulary()


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("samsung biologics", "Samsung Biologics"),
        ("SAMSUNG BIOLOGICS", "Samsung Biologics"),
        ("삼성바이오로직스", "Samsung Biologics"),
        ("롯데바이오로직스", "Lotte Biologics"),
        ("셀트리온", "Celltrion"),
        ("SK바이오사이언스", "SK bioscience"),
        ("Patheon", "Patheon"),
        ("MilliporeSigma", "MilliporeSigma"),
        ("Fujifilm Diosynth", "Fujifilm Diosynth Biotechnologies"),
        ("GlaxoSmithKline", "GSK"),
        ("Bristol-Myers Squibb", "Bristol Myers Squibb"),
        ("National Resilience", "National Resilience"),
        ("Avid Bioservices", "Avid Bioservices"),
        ("no such company", None),
    ],
)
def test_canonical(vocab, alias: str, canonical: str | None) -> None:  # type: ignore[no-untyped-def]
    assert vocab.canonical(alias) == canonical


def test_parents_and_roles(vocab) -> None:  # type: ignore[no-untyped-def]
    assert vocab.related("Patheon", "Thermo Fisher Scientific")
    assert vocab.related("MilliporeSigma", "Merck KGaA")
    assert not vocab.related("Samsung Bioepis", "Lonza")
    assert vocab.get("Samsung Bioepis").roles == {"biotech"}  # a biosimilar developer, not a CDMO
    assert vocab.get("Sartorius").roles == {"supplier"}
    assert vocab.is_cdmo_group("Lonza")
    assert vocab.is_cdmo_group("Fujifilm")  # holding of a CDMO
    assert not vocab.is_cdmo_group("Pfizer")  # a client, even with a contract-manufacturing unit


def test_find_respects_case_for_short_and_common_words(vocab) -> None:  # type: ignore[no-untyped-def]
    text = normalize_text("Avid readers in Wuxi city saw WuXi AppTec and GSK, not gsk or avid fans")
    found = [(m.company, m.text) for m in vocab.find(text)]
    assert found == [("WuXi AppTec", "WuXi AppTec"), ("GSK", "GSK")]


def test_find_korean_with_particles(vocab) -> None:  # type: ignore[no-untyped-def]
    found = vocab.find(normalize_text("삼성바이오로직스는 셀트리온과 달리"))
    assert [m.company for m in found] == ["Samsung Biologics", "Celltrion"]


@pytest.mark.parametrize("dot", ["\u318d", "\u00b7", "\u30fb", "\u2027", "\uff65"])
def test_interpunct_lookalikes_normalise_to_one_dot(dot: str) -> None:
    assert normalize_text(f"단일판매{dot}공급계약체결") == "단일판매·공급계약체결"


def test_extension_adds_companies_and_aliases(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "companies:\n"
        "  - {name: Acme Bio, roles: [cdmo], aliases: [ACME, 에이크미]}\n"
        "  - {name: Lonza, aliases: [Lonza Biologics Porrino]}\n",
        encoding="utf-8",
    )
    vocab = load_vocabulary([extra])
    assert vocab.canonical("acme bio") == "Acme Bio"
    assert vocab.canonical("에이크미") == "Acme Bio"
    assert vocab.canonical("Lonza Biologics Porrino") == "Lonza"
    assert vocab.get("Lonza").is_cdmo  # existing roles are kept
    assert vocab.canonical("Lonza Group") == "Lonza"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("companies:\n  - {name: A, roles: [cdmo]\n", "extra.yaml:3: not valid YAML"),
        ("companies: {}\n", "extra.yaml:1: 'companies' must be a list"),
        ("firms: []\n", "extra.yaml:1: missing the 'companies' list"),
        ("companies:\n  - {name: A}\n  - {roles: [cdmo]}\n", "extra.yaml:3: 'name' must be a non-empty string"),
        ("companies:\n  - {name: A, roles: [maker]}\n", "extra.yaml:2: unknown role(s) ['maker']"),
        ("companies:\n  - {name: A, aliases: Lonza}\n", "extra.yaml:2: 'aliases' must be a list"),
        ("companies:\n  - {name: A, colour: red}\n", "extra.yaml:2: unknown field(s) colour"),
        (
            "companies:\n\n  - {name: Acme, aliases: [Lonza AG]}\n",
            "extra.yaml:3: alias 'Lonza AG' of 'Acme' already names",
        ),
        ("companies:\n  - {name: A, parent: Nobody Inc}\n", "extra.yaml:2: unknown parent 'Nobody Inc'"),
        ("companies:\n  - just a string\n", "extra.yaml:2: each company must be a mapping"),
    ],
)
def test_bad_extension_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(content, encoding="utf-8")
    with pytest.raises(VocabularyError) as caught:
        load_vocabulary([extra])
    assert message in str(caught.value)
    assert str(extra) in str(caught.value)


def test_missing_extension_file(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="cannot read vocabulary file"):
        load_vocabulary([tmp_path / "absent.yaml"])


# The words tokenize must find, written as one regex (Latin letters and digits incl. Latin-1/Extended
# letters, Hangul runs, kana/CJK runs), and where each starts.
_WORDS = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+|[\uac00-\ud7a3]+|[\u3040-\u30ff\u4e00-\u9fff]+")
_TEXT_CHARS = st.sampled_from(
    [*"abz09AZ .,-'$&/()\t\n_", "é", "ü", "삼", "성", "株", "ㆍ", "\u00a0", "™", "—", "×", "\U0001f600"]
)


def _reference(text: str) -> tuple[list[str], list[int]]:
    found = list(_WORDS.finditer(text))
    return [m.group() for m in found], [m.start() for m in found]


@given(st.lists(_TEXT_CHARS, max_size=60).map("".join))
def test_tokenize_finds_every_word_and_its_offset(text: str) -> None:
    assert tokenize(text) == _reference(text)


def test_tokenize_beyond_the_few_non_ascii_characters_of_english_news() -> None:
    many_dashes = "lonza \u2014 visp " * 70  # more non-ASCII characters than are looked at one by one
    assert tokenize(many_dashes) == _reference(many_dashes)
    korean = "삼성바이오로직스, 5000억원 규모 cmo 계약 " * 10
    assert tokenize(korean) == _reference(korean)


# Characters normalize_text treats specially (look-alike dots, curly quotes, no-break space), ones NFKC
# changes (ligature, full-width, trademark, combining accent after a letter) and ones it keeps.
_NORMALIZE_CHARS = st.sampled_from(
    [
        *"ab 1.'\"?\t\n",
        "\u318d",
        "\u30fb",
        "\u2019",
        "\u201c",
        "\u00a0",
        "\ufb01",
        "\uff21",
        "\u2122",
        "\u0301",
        "é",
        "—",
        "삼",
        "株",
    ]
)
_SPECIAL = str.maketrans({"\u318d": "·", "\u119e": "·", "\u30fb": "·", "\u2027": "·", "\uff65": "·",
                          "\u2219": "·", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                          "\u00a0": " "})  # fmt: skip


@given(st.lists(_NORMALIZE_CHARS, max_size=150).map("".join))
def test_normalize_text_is_nfkc_with_one_dot_and_quote_and_single_spaces(text: str) -> None:
    expected = unicodedata.normalize("NFKC", text.translate(_SPECIAL)).translate(_SPECIAL)
    assert normalize_text(text) == " ".join(expected.split())


def test_single_spaced_text_is_kept_as_it_is() -> None:
    """normalize_text returns a printable text with single inner spaces unchanged: that is only right
    because every whitespace character but the space is unprintable."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() and char != " ":
            assert not char.isprintable(), hex(code)
    for text in ("a b", "Lonza — Visp", "a  b", " a", "a ", "a\tb", "a\u2003b", ""):
        assert normalize_text(text) == " ".join(text.split())


def test_mentions_are_built_as_the_dataclass_builds_them() -> None:
    built, plain = _mention("Lonza", "lonza", 3, 8), Mention("Lonza", "lonza", 3, 8)
    assert (built, hash(built), repr(built)) == (plain, hash(plain), repr(plain))
    assert _mention("Lonza", "lonza", 3, 9) != plain


@given(st.lists(_TEXT_CHARS, max_size=150).map("".join))
def test_non_ascii_positions_and_scripts(text: str) -> None:
    everywhere = [i for i, c in enumerate(text) if not c.isascii()]
    assert non_ascii_positions(text, limit=len(everywhere)) == everywhere
    if everywhere:
        assert non_ascii_positions(text, limit=len(everywhere) - 1) is None
    assert has_hangul_or_cjk(text) == bool(re.search("[\uac00-\ud7a3\u3040-\u30ff\u4e00-\u9fff]", text))


@pytest.mark.parametrize(
    "text",
    [
        "lonza signs $1.2bn deal",
        "  a-b c_d  ",
        "",
        "...",
        "wuxi's 2nd plant",
        "삼성바이오로직스, 5000억원 cmo 계약",
        "café",
    ],
)
def test_tokenize_examples(text: str) -> None:
    words, starts = tokenize(text)
    assert [text[s : s + len(w)] for w, s in zip(words, starts, strict=True)] == words
    assert (words, starts) == _reference(text)
