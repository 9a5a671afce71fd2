"""Table-driven tests of the classifier on fresh headlines written for these tests.

The examples are invented (or real company names in invented sentences) in the style of trade
press, wires and Korean outlets; none is copied from the corpus. Each case states the labels a
careful analyst would give under the corpus README's rules, so a failing case is a rule bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor import classify as classify_module
from monitor.classify import CLASSIFIER_VERSION, Vocabulary, classify, default_vocabulary, load_vocabulary
from monitor.regexes import source_of
from monitor.types import Classification

Case = tuple[str, str, tuple[str, ...]]

C = ("cdmo_contract",)
P = ("plant_milestone",)
BOTH = ("cdmo_contract", "plant_milestone")
NONE: tuple[str, ...] = ()

# (title, summary, expected labels)
CONTRACTS: list[Case] = [
    ("Samsung Biologics signs $410 million manufacturing deal with Novartis", "", C),
    ("Lonza inks commercial supply agreement with Vertex for cell therapy", "", C),
    ("Catalent to manufacture Moderna's next-generation vaccine at Bloomington site", "", C),
    ("Gilead selects WuXi Biologics as CDMO for bispecific antibody", "", C),
    ("Fujifilm Diosynth wins contract to produce BARDA pandemic vaccine", "", C),
    ("AGC Biologics and Acme Therapeutics sign letter of intent for clinical manufacturing", "", C),
    (
        "Lotte Biologics secures CMO deal with European biotech",
        "Lotte Biologics said it signed a contract manufacturing agreement with an unnamed European biotech "
        "for a phase 2 antibody.",
        C,
    ),
    ("Rentschler Biopharma extends production agreement with Ipsen", "", C),
    ("Siegfried to fill and finish doses of Pfizer's RSV vaccine", "", C),
    ("Recipharm lands fill-finish contract from AstraZeneca", "", C),
    ("Bora Pharmaceuticals taps into Sanofi deal to produce sterile injectables", "", C),
    ("Novo Nordisk picks Thermo Fisher to make semaglutide pens", "", C),
    ("ST Pharm bags $90 million oligonucleotide order from a US pharmaceutical company", "", C),
    ("CEPI reserves capacity at SK bioscience for outbreak vaccines", "", C),
    ("AbbVie expands manufacturing partnership with Lonza for ADC payloads", "", C),
    ("Pharmaron wins $50M API supply contract from undisclosed US biotech", "", C),
    ("Agreement sees Piramal manufacture Ipsen's oncology API", "", C),
    ("Kaneka Eurogentec signs deal to produce plasmid DNA for Arcturus", "", C),
    ("Biogen taps Fujifilm for biosimilar manufacturing", "", C),
    ("Moderna and Catalent extend fill-finish agreement through 2025", "", C),
    ("Wacker to manufacture mRNA vaccine for CureVac in Halle", "", C),
    (
        "WuXi Biologics wins $500 million in new projects at BIO",
        "WuXi Biologics signed five manufacturing agreements with US and European biotechs at the BIO convention.",
        C,
    ),
]
KOREAN: list[Case] = [
    ("삼성바이오로직스, 단일판매ㆍ공급계약체결", "", C),
    ("삼성바이오로직스, 단일판매·공급계약체결", "", C),
    ("삼성바이오로직스, 단일판매・공급계약체결", "", C),
    ("삼성바이오로직스, 단일판매‧공급계약체결", "", C),
    ("롯데바이오로직스, 미국 바이오텍과 위탁생산 계약 체결", "", C),
    ("셀트리온, 글로벌 제약사와 CMO 계약", "", C),
    ("SK바이오사이언스, 백신 위탁생산 수주", "", C),
    ("삼성바이오로직스 5공장 착공", "", P),
]
PLANTS: list[Case] = [
    ("Lonza breaks ground on $500 million biologics plant in Visp", "", P),
    ("WuXi Biologics completes construction of Irish drug substance facility", "", P),
    ("Samsung Biologics begins operations at Plant 5 in Songdo", "", P),
    ("Vetter receives EU GMP certificate for new filling line in Ravensburg", "", P),
    ("Catalent to close Oxford gene therapy site, cutting 100 jobs", "", P),
    ("Celltrion acquires Pfizer manufacturing plant in Ireland for $200 million", "", P),
    ("Bachem invests CHF 300 million to expand peptide capacity in Bubendorf", "", P),
    ("Novo Nordisk opens $4 billion fill-finish facility in Clayton", "", P),
    ("Lotte Biologics holds topping-out ceremony for Songdo plant", "", P),
    ("Resilience to idle Boston manufacturing facility", "", P),
    ("Fujifilm to build $1.2 billion cell culture plant in Denmark, creating 300 jobs", "", P),
    ("Thermo Fisher buys Sanofi's sterile fill-finish site in New Jersey", "", P),
    ("Ajinomoto to acquire gene therapy CDMO Forge Biologics", "", P),
    ("Minaris completes first commercial manufacturing run at new Allendale site", "", P),
    ("Bachem cuts ribbon on new peptide manufacturing building in Vista, California", "", P),
    ("Syngene gets USFDA nod for Bengaluru biologics facility", "", P),
    ("Lonza's Portsmouth site passes FDA pre-license inspection", "", P),
    ("National Resilience sells Ontario facility to Omnia Bio", "", P),
    ("SK pharmteco completes acquisition of French viral vector CDMO Yposkesi", "", P),
    ("Asymchem halts construction of Tianjin plant amid weak demand", "", P),
    ("Porton completes commissioning of new API plant in Chongqing", "", P),
    ("Siegfried commissions new production building in Evionnaz", "", P),
    ("Cambrex builds new highly potent API facility in Iowa", "", P),
    ("Genezen invests in new viral vector production facility", "", P),
    ("Rentschler expands production capacity in Germany", "", P),
    ("Syngene pays $40 million for Emergent biologics plant", "", P),
    ("Catalent strikes deal for Belgian plasmid CDMO", "", P),
    ("WuXi AppTec opens bio-facility in Wuxi", "", P),
    ("롯데바이오로직스, 송도 바이오캠퍼스 1공장 준공", "", P),
    ("셀트리온, 일라이릴리 미국 공장 인수", "", P),
    ("에스티팜, 올리고 공장 증설 완료", "", P),
]
BOTH_LABELS: list[Case] = [
    (
        "Emergent signs manufacturing agreement with Novavax and opens new fill-finish suite in Baltimore",
        "",
        BOTH,
    ),
    (
        "Recipharm acquires Spanish plant and signs long-term manufacturing agreement with Roche",
        "",
        BOTH,
    ),
]
HARD_NEGATIVES: list[Case] = [
    # earnings, even with deals in the headline
    ("Samsung Biologics Q3 profit jumps 40% on big manufacturing deals", "", NONE),
    ("Lonza H1 results beat forecasts as CDMO contracts pile up", "", NONE),
    # licensing and co-development, even with a CDMO as licensor
    ("Abzena licenses conjugation platform to Telix", "", NONE),
    ("SK bioscience and Sanofi expand pact to co-develop pneumococcal vaccine", "", NONE),
    # raw-material supply to a CDMO
    (
        "Lotte Biologics and Merck KGaA sign partnership to expand biopharma manufacturing",
        "The companies will secure the supply of raw materials and single-use systems for Lotte's Songdo campus.",
        NONE,
    ),
    ("Samsung Biologics extends raw materials supply deal with Sartorius", "", NONE),
    # CDMO-to-CDMO alliance without a client
    ("Binex and Prestige BioLogics sign MOU for CMO business cooperation", "", NONE),
    # offices, HQ, R&D and QC labs
    ("Charles River opens new QC testing laboratory in Stevenage", "", NONE),
    ("Samsung Biologics opens sales office in Boston", "", NONE),
    ("Lonza opens early development lab in Cambridge", "", NONE),
    # financing and IPO, capacity as use of funds included
    ("SK pharmteco raises $300 million in pre-IPO round to fund new plant", "", NONE),
    # explainers, market reports, opinion
    ("How to choose a CDMO for your first-in-human study", "", NONE),
    ("Biologics CDMO market size to reach $40 billion by 2030, report says", "", NONE),
    # a plant only being weighed
    ("Fujifilm weighs new US plant as tariffs loom", "", NONE),
    # executive changes, lawsuits, 483s, drug approvals, termination
    ("Catalent names new chief executive", "", NONE),
    ("Emergent settles securities class action over vaccine plant problems", "", NONE),
    ("FDA issues Form 483 to Catalent's Bloomington plant", "", NONE),
    ("FDA approves Celltrion's Stelara biosimilar", "", NONE),
    ("CureVac terminates manufacturing contracts with Wacker and Celonic", "", NONE),
    ("Thermo Fisher to acquire clinical data firm for $8.9 billion", "", NONE),
    ("Fareva weighs sale of Italian plant", "", NONE),
    ("Catalent eyes new gene therapy site in Texas", "", NONE),
    ("Samsung Biologics Q1 operating profit surges on plant 4 ramp-up", "", NONE),
    ("Merck KGaA to supply single-use bags to Samsung Biologics", "", NONE),
    ("WuXi XDC raises HK$4 billion in Hong Kong IPO", "", NONE),
    (
        "Aragen and Syngene form alliance to offer integrated CDMO services",
        "The two contract research and manufacturing companies will jointly market their services.",
        NONE,
    ),
    ("Moderna ends manufacturing deal with Lonza", "", NONE),
    (
        "Lotte Biologics and Merck sign LOI on process development",
        "The pact follows the 2022 agreement for the expansion of the Syracuse plant.",
        NONE,
    ),
    ("Charles River, after buying Rockville site, plans some changes", "", NONE),
]


def _labels(title: str, summary: str) -> tuple[str, ...]:
    return classify(title, summary).labels


@pytest.mark.parametrize(("title", "summary", "expected"), CONTRACTS + KOREAN + PLANTS + BOTH_LABELS + HARD_NEGATIVES)
def test_labels(title: str, summary: str, expected: tuple[str, ...]) -> None:
    assert _labels(title, summary) == expected


def test_every_label_carries_evidence_from_the_text() -> None:
    result = classify("Lonza breaks ground on $500 million biologics plant in Visp")
    assert result.labels == P
    assert result.evidence["plant_milestone"]
    for phrase in result.evidence["plant_milestone"]:
        assert phrase.lower() in "lonza breaks ground on $500 million biologics plant in visp"
    assert result.version == CLASSIFIER_VERSION


def test_summary_adds_what_the_title_lacks() -> None:
    title = "Samsung Biologics and Pfizer deepen ties"
    assert _labels(title, "") == NONE
    summary = "Samsung Biologics signed a $400 million manufacturing agreement with Pfizer for biosimilars."
    assert _labels(title, summary) == C


def test_fields_of_a_contract() -> None:
    result = classify(
        "Samsung Biologics signs 1.2 trillion won manufacturing deal with Eli Lilly",
        "The contract covers commercial production of an antibody at Plant 4 in Songdo.",
    )
    e = result.entities
    assert (e.cdmo, e.client) == ("Samsung Biologics", "Eli Lilly")
    assert e.value == "1.2 trillion won"
    assert e.value_usd == pytest.approx(1.2e12 / 1350)
    assert e.modality == "mAb"
    assert e.stage == "commercial"
    assert e.companies == ("Samsung Biologics", "Eli Lilly")
    assert result.evidence["cdmo"] == ("Samsung Biologics",)


def test_undisclosed_client() -> None:
    result = classify("Lonza signs $150 million manufacturing contract with undisclosed big pharma client")
    assert result.entities.client == "undisclosed"


def test_korean_names_are_canonical() -> None:
    result = classify(
        "삼성바이오로직스, 단일판매ㆍ공급계약체결",
        "삼성바이오로직스는 1조 8000억원 규모의 위탁생산 계약을 체결했다고 공시했다.",
    )
    assert result.entities.cdmo == "Samsung Biologics"
    assert result.entities.value == "1조 8000억원"
    assert result.entities.value_usd == pytest.approx(1.8e12 / 1350)


def test_inconsistent_values_are_flagged_not_picked() -> None:
    result = classify(
        "Samsung Biologics wins order from European drugmaker",
        "The contract is worth 53.5 billion won ($411 million), the company said in a filing.",
    )
    e = result.entities
    assert e.value == "53.5 billion won ($411 million)"
    assert e.value_inconsistent is True
    assert e.value_usd is None


def test_consistent_pair_prefers_the_stated_dollars() -> None:
    result = classify("Celltrion to buy Lilly plant for 460 billion won ($330 million)")
    assert result.entities.value_usd == pytest.approx(330e6)
    assert result.entities.value_inconsistent is False


def test_crore_value() -> None:
    result = classify("Aurigene to set up Rs 328 crore biologics facility in Hyderabad")
    assert result.labels == P
    assert result.entities.value_usd == pytest.approx(328e7 / 83)
    assert result.entities.site == "Hyderabad"


def test_cdmo_is_the_manufacturer_not_the_client() -> None:
    result = classify("Moderna taps Samsung Biologics for fill-finish of its flu vaccine")
    assert result.entities.cdmo == "Samsung Biologics"
    assert result.entities.client == "Moderna"
    assert result.entities.modality == "vaccine"


def test_big_pharma_acting_as_contract_manufacturer() -> None:
    result = classify("Sanofi to help manufacture BioNTech's COVID-19 vaccine in Frankfurt")
    assert result.labels == C
    assert result.entities.cdmo == "Sanofi"
    assert result.entities.client == "BioNTech"


def test_unknown_company_falls_back_to_the_headline_subject() -> None:
    result = classify("Acme Biologics breaks ground on cell therapy plant in Ohio")
    assert result.labels == P
    assert result.entities.cdmo == "Acme Biologics"


def test_title_only_and_empty_input() -> None:
    assert classify("").labels == NONE
    assert classify("   ", "   ").labels == NONE
    assert isinstance(classify("Lonza"), Classification)


def test_user_vocabulary_extends_the_default(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "companies:\n  - {name: Zeta Biomanufacturing, roles: [cdmo], aliases: [ZetaBio, 제타바이오]}\n",
        encoding="utf-8",
    )
    vocabulary = load_vocabulary([extra])
    result = classify("ZetaBio signs manufacturing agreement with Amgen", vocabulary=vocabulary)
    assert result.labels == C
    assert result.entities.cdmo == "Zeta Biomanufacturing"
    assert result.entities.client == "Amgen"
    assert isinstance(vocabulary, Vocabulary)


def test_default_vocabulary_is_loaded_once() -> None:
    assert default_vocabulary() is default_vocabulary()


def test_rule_triggers_never_hide_a_match() -> None:
    """Each rule's trigger words must cover every match its regex finds (speed must not cost recall)."""
    from monitor import classify as module

    texts = [t + "\n" + s for t, s, _ in CONTRACTS + KOREAN + PLANTS + BOTH_LABELS + HARD_NEGATIVES]
    rules = [r for r in vars(module).values() if isinstance(r, module._Rule)]
    rules += [
        r
        for group in (
            module._CONTRACT_STRONG,
            module._CONTRACT_WEAK,
            module._PLANT_STRONG,
            module._PLANT_WEAK,
            module._PLANT_BUILD,
        )
        for r in group
    ]
    rules += [rule for _, rule in module._MODALITIES]
    vocabulary = default_vocabulary()
    for text in texts:
        doc = module._build_doc(text, "", vocabulary)
        for rule in rules:
            plain = [m.span() for m in re.finditer(rule.pattern, doc.lower)]
            gated = [m.span() for m in rule.finditer(doc)]
            assert set(plain) <= set(gated) or not plain, (rule.pattern[:60], text)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.from_regex(classify_module._CONCRETE.pattern, fullmatch=True),
    before=st.sampled_from(["", "a", "2", "_", "x", " ", "-"]),
    after=st.sampled_from(["", "a", " plant", "2", "s"]),
)
def test_concrete_in_answers_as_the_concrete_rule(body: str, before: str, after: str) -> None:
    """_concrete_in splits _CONCRETE into faster regexes; it must find a figure exactly where the rule does."""
    doc = classify_module._build_doc(before + body + after, "", default_vocabulary())
    size = len(doc.lower)
    for start, end in ((0, size), (0, size // 2), (size // 3, size)):
        expected = classify_module._CONCRETE.search(doc, doc.lower, start, end) is not None
        assert classify_module._concrete_in(doc, start, end) == expected


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab A.!?'\"”“(*•-\n 09", max_size=40), data=st.data())
def test_sentence_starts_are_those_of_a_regex_scan(text: str, data: st.DataObject) -> None:
    title_end = data.draw(st.integers(0, len(text)))
    expected = [title_end + 1] if len(text) > title_end else []
    for m in classify_module._SENTENCE_END.finditer(text, title_end + 1):
        if not classify_module._ABBREVIATION.search(text, max(0, m.start() - 8), m.start()):
            expected.append(m.end())
    assert classify_module._sentence_starts(text, title_end) == expected


def _rules_with_needs() -> list[classify_module._Rule]:
    found = [r for r in vars(classify_module).values() if isinstance(r, classify_module._Rule) and r.needs]
    assert found  # the test below must look at something
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_contains_one_of_the_needed_strings(data: st.DataObject) -> None:
    """`needs` lets `search` skip the regex when none of its strings occurs: each match must contain one."""
    for rule in _rules_with_needs():
        text = data.draw(st.from_regex(re.compile(rule.pattern), fullmatch=True))
        assert any(need in text for need in rule.needs), (rule.pattern[:40], text)


_NEEDS_PIECES = ["'s", "s", "doses", "for ", "for the us", "fo", "under development by", "$", "€", "₩", "won"]
_NEEDS_TEXT = st.lists(
    st.sampled_from([*_NEEDS_PIECES, "invest", "crore", "drop", "x", " ", "a", "-", "commit"]), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(pieces=_NEEDS_TEXT, data=st.data())
def test_search_with_needed_strings_is_a_regex_search(pieces: list[str], data: st.DataObject) -> None:
    text = "".join(pieces)
    doc = classify_module._build_doc("", "", default_vocabulary())
    pos = data.draw(st.integers(0, len(text)))
    endpos = data.draw(st.integers(pos, len(text)))
    for rule in _rules_with_needs():
        found = rule.search(doc, text, pos, endpos)
        expected = re.compile(rule.pattern).search(text, pos, endpos)
        assert (found and found.span()) == (expected and expected.span()), rule.pattern[:40]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_contains_one_of_the_strings_looked_for_first(data: st.DataObject) -> None:
    """_background, _declared_cdmo and _site look for these strings before their regex: a match must contain one."""
    for regex, needs in (
        (classify_module._BACKGROUND, classify_module._BACKGROUND_NEEDS),
        (classify_module._DECLARED_CDMO, classify_module._DECLARED_CDMO_NEEDS),
        (classify_module._PLANT_NUMBER, classify_module._PLANT_NUMBER_NEEDS),
    ):
        text = data.draw(st.from_regex(re.compile(source_of(regex)), fullmatch=True))
        assert any(need in text for need in needs), (regex.pattern[:40], text)


_BACKGROUND_TEXT = st.lists(
    st.sampled_from(["after", "since", "2021", "1999", "20", "prior to", "follows", " ", "x", ",", "the plant", "\n"]),
    max_size=14,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_BACKGROUND_TEXT, data=st.data())
def test_background_is_the_regex_search(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    expected = classify_module._BACKGROUND.search(text, max(0, start - 45), start) is not None
    assert classify_module._background(text, start) == expected


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet="0123456789 -–a\u0663", max_size=24))
def test_year_ranges_are_those_of_a_regex_search(text: str) -> None:
    assert classify_module._has_year_range(text) == (classify_module._YEAR_RANGE.search(text) is not None)


_MAKES_PIECES = ["Lonza", "Catalent", "Pfizer", " ", ", ", "  ", "makes", "fills", "produces", "make", "-", "_"]
_MAKES_TEXT = st.lists(
    st.sampled_from([*_MAKES_PIECES, "é", "×", "삼성", "bottle", "manufactures", "x", "(", "makeshift"]), max_size=10
).map("".join)


@settings(max_examples=300, deadline=None)
@given(title=_MAKES_TEXT, summary=_MAKES_TEXT)
@example(title="Lonza, makes", summary="Catalent  fills Pfizer makes")
@example(title="Lonza makes", summary="Catalent-fills, Lonza (produces")
def test_makes_after_cdmo_is_the_filtered_finditer(title: str, summary: str) -> None:
    doc = classify_module._build_doc(title, summary, default_vocabulary())
    expected = [
        m.span() for m in classify_module._MAKES.finditer(doc) if classify_module._cdmo_just_before(doc, m.start())
    ]
    assert [m.span() for m in classify_module._makes_after_cdmo(doc)] == expected


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), before=st.sampled_from(["", "x ", "the ", "é ", "2 "]))
def test_rules_with_later_words_stay_active_where_they_match(data: st.DataObject, before: str) -> None:
    """An item without any of a rule's later words drops the rule: wherever the regex matches, one occurs."""
    rules = classify_module._RULES_WITH_LATER_WORDS
    assert rules
    for rule in rules:
        text = before + data.draw(st.from_regex(re.compile(rule.pattern), fullmatch=True))
        doc = classify_module._build_doc(text, "", default_vocabulary())
        triggered, _ = classify_module._active_rules(doc.positions, doc.lower, False, False)  # no later words
        if doc.word_starts_are_boundaries and rule in triggered and re.search(rule.pattern, doc.lower):
            assert rule in doc.active, (rule.pattern[:40], text)
