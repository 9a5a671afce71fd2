"""A story fingerprint's blocking keys are stored (story_key rows): every faster way of making them must give
exactly the keys of the plain formulation below, which is what grouping ran before."""

from __future__ import annotations

import contextlib
import copy as copy_module
import hashlib
import json
import math
import pickle
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import story_text
from monitor.grouping import StoryFingerprint, index_keys, strong_names
from monitor.story_text import _WEAK

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AT = datetime(2026, 3, 1, tzinfo=UTC)

# ---------------------------------------------------------------------------------------------
# The reference: index_keys as it was written in grouping.py


def _plain_short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _plain_strong_names(fp: StoryFingerprint) -> list[str]:
    return [n for n in dict.fromkeys(fp.title_names + fp.names) if n not in _WEAK and not n.startswith("#")]


def _plain_name_keys(fp: StoryFingerprint) -> list[str]:
    strong = _plain_strong_names(fp)
    top = sorted(strong[:5])
    keys = [f"n:{a}|{b}" for i, a in enumerate(top) for b in top[i + 1 :]]
    return keys + [f"p:{n}|{k}" for n in strong[:1] for k in fp.kinds[:2]]


def _plain_value_keys(fp: StoryFingerprint) -> list[str]:
    strong = _plain_strong_names(fp)
    if not strong:
        return []
    buckets = {math.floor(4 * math.log10(v)) for v in fp.values[:1]}
    buckets |= {b + 1 for b in buckets}
    return [f"v:{strong[0]}|{b}" for b in sorted(buckets)]


def _plain_index_keys(fp: StoryFingerprint) -> tuple[str, ...]:
    keys: list[str] = []
    if fp.url:
        keys.append("u:" + fp.url)
    if fp.slug:
        keys.append("s:" + fp.slug)
    if len(fp.title.split()) >= 3:
        keys.append("t:" + _plain_short_hash(fp.title))
    sig = fp.signature
    for band in range(min(8, len(sig) // 2)):
        rows = sig[band * 2 : (band + 1) * 2]
        keys.append(f"b{band}:" + _plain_short_hash(repr(rows)))
    keys.extend(_plain_name_keys(fp))
    keys.extend(_plain_value_keys(fp))
    if fp.cdmo:
        keys.extend(f"e:{fp.cdmo}|{other}" for other in (fp.party, fp.site) if other)
    return tuple(dict.fromkeys(keys))


# ---------------------------------------------------------------------------------------------
# Fingerprints with every case the keys distinguish: weak and "#" names, repeats, names and kinds holding
# the "|" that joins a key's parts, equal client and site, short and odd-length signatures, amounts at the
# edges of log10 (zero, negative, infinite, not a number: the plain code raises there, so must the new one).

_NAMES = st.one_of(
    st.sampled_from(["a", "a|b", "b|c", "c", "|"]),  # "n:a|b|c" twice, from ("a", "b|c") and ("a|b", "c")
    st.sampled_from(["lonza", "samsung", "korea", "bio", "#1200", "#99", "b", "zeta", "é", "삼성", ""]),
)
_TEXT = st.one_of(st.sampled_from(["", " ", "lonza signs deal", "a b", "a  b c", "x|y"]), st.text(max_size=30))
_ENTITY = st.sampled_from(["", "lonza", "acme", "a|b", "visp"])
_KINDS = st.lists(st.sampled_from(["contract", "opening", "acquisition", "a|b", "contract|x", ""]), max_size=4)
_VALUES = st.lists(
    st.one_of(st.floats(min_value=1e-3, max_value=1e15), st.floats(allow_nan=True, allow_infinity=True)),
    max_size=3,
)
_SIGNATURE = st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=40)


@st.composite
def fingerprints(draw: st.DrawFn) -> StoryFingerprint:
    return StoryFingerprint(
        url=draw(_TEXT),
        slug=draw(_TEXT),
        title=draw(_TEXT),
        signature=tuple(draw(_SIGNATURE)),
        names=tuple(draw(st.lists(_NAMES, max_size=12))),
        values=tuple(draw(_VALUES)),
        kinds=tuple(draw(_KINDS)),
        phase=draw(st.sampled_from(["", "closing"])),
        labels=tuple(draw(st.lists(st.sampled_from(["cdmo_contract", "plant_milestone"]), max_size=2))),
        cdmo=draw(_ENTITY),
        party=draw(_ENTITY),
        site=draw(_ENTITY),
        at=AT,
        title_names=tuple(draw(st.lists(_NAMES, max_size=6))),
        parties=tuple(draw(st.lists(_NAMES, max_size=4))),
        title_kinds=tuple(draw(_KINDS)),
    )


def _outcome(make: object, fp: StoryFingerprint) -> object:
    """The keys, or the type of the exception making them raised."""
    try:
        return make(fp)  # type: ignore[operator]
    except (ValueError, OverflowError) as exc:
        return type(exc)


@SETTINGS
@given(fingerprints())
def test_index_keys_are_the_plain_formulation_s(fp: StoryFingerprint) -> None:
    assert _outcome(index_keys, fp) == _outcome(_plain_index_keys, fp)


@SETTINGS
@given(fingerprints())
def test_strong_names_are_the_plain_formulation_s(fp: StoryFingerprint) -> None:
    assert strong_names(fp) == _plain_strong_names(fp)


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.sampled_from(["", "(1, 2)", "(4294967295, 0)"])))
def test_short_hash_is_blake2b_of_six_bytes(text: str) -> None:
    assert story_text._short_hash(text) == _plain_short_hash(text)


def test_keys_of_a_band_spell_the_rows_as_repr_does() -> None:
    sig = (0, 4294967295, 7, 1 << 31, *range(28))
    fp = StoryFingerprint("", "", "", sig, (), (), (), "", (), "", "", "", AT)
    assert [k for k in index_keys(fp) if k.startswith("b0:")] == ["b0:" + _plain_short_hash("(0, 4294967295)")]
    assert index_keys(fp) == _plain_index_keys(fp)


def test_a_key_two_pairs_of_names_spell_alike_is_kept_once() -> None:
    fp = StoryFingerprint("", "", "", (), ("a", "a|b", "b|c", "c"), (), (), "", (), "", "", "", AT)
    assert index_keys(fp).count("n:a|b|c") == 1
    assert index_keys(fp) == _plain_index_keys(fp)


# ---------------------------------------------------------------------------------------------
# The stored JSON: json's own compact encoding of to_dict is the reference

_ANY_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=10),
    st.sampled_from(["", '"', "\\", "\\u0000", "\x00", "\ud800", "é", "삼성", "\u2028", "\x7f", "a/b"]),
)
_AMOUNTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.sampled_from([0.0, -0.0, 1e6, 1.2e8, 123456789.0, 1e22, 5e-324]),
)
_MOMENTS = st.builds(
    lambda moment, zone: moment if zone is None else moment.replace(tzinfo=zone),
    st.datetimes(),
    st.one_of(st.none(), st.just(UTC), st.integers(-23, 23).map(lambda h: timezone(timedelta(hours=h)))),
)


@st.composite
def stored_fingerprints(draw: st.DrawFn) -> StoryFingerprint:
    texts = st.lists(_ANY_TEXT, max_size=5).map(tuple)
    return StoryFingerprint(
        url=draw(_ANY_TEXT),
        slug=draw(_ANY_TEXT),
        title=draw(_ANY_TEXT),
        signature=tuple(draw(_SIGNATURE)),
        names=draw(texts),
        values=tuple(draw(st.lists(_AMOUNTS, max_size=3))),
        kinds=draw(texts),
        phase=draw(_ANY_TEXT),
        labels=draw(texts),
        cdmo=draw(_ANY_TEXT),
        party=draw(_ANY_TEXT),
        site=draw(_ANY_TEXT),
        at=draw(_MOMENTS),
        title_names=draw(texts),
        parties=draw(texts),
        title_kinds=draw(texts),
    )


@SETTINGS
@given(stored_fingerprints())
def test_stored_is_json_s_compact_encoding_of_to_dict(fp: StoryFingerprint) -> None:
    assert fp.stored == json.dumps(fp.to_dict(), separators=(",", ":"))


@SETTINGS
@given(fingerprints())
def test_stored_of_ordinary_fingerprints_is_json_s_too(fp: StoryFingerprint) -> None:
    assert fp.stored == json.dumps(fp.to_dict(), separators=(",", ":"))
    assert StoryFingerprint.from_dict(json.loads(fp.stored)).stored == fp.stored


# ---------------------------------------------------------------------------------------------
# Pickling (parse workers send fingerprints to the storing process)


@SETTINGS
@given(fingerprints(), st.booleans())
def test_a_pickled_fingerprint_comes_back_with_every_attribute_it_had(fp: StoryFingerprint, cached: bool) -> None:
    if cached:  # what a parse worker computes before sending it
        with contextlib.suppress(ValueError, OverflowError):  # an amount log10 refuses (none in a fingerprint)
            _ = fp.keys
        _ = fp.stored
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        copy = pickle.loads(pickle.dumps(fp, protocol=protocol))  # compared by repr: an amount may be NaN
        assert type(copy) is StoryFingerprint and repr(copy) == repr(fp)
        assert repr(list(vars(copy).items())) == repr(list(vars(fp).items()))  # the cached keys and JSON, in order
    assert repr(copy_module.copy(fp)) == repr(fp) and repr(copy_module.deepcopy(fp)) == repr(fp)
