"""Company vocabulary: CDMOs, their clients and suppliers, with aliases, kept as data.

Why a vocabulary rather than named-entity recognition: the classifier must tell a contract
manufacturer from its client or from a raw-material supplier (roles), map Korean and former names
to one canonical name (so alert-rule watchlists and story grouping match across outlets), and do
it without models or network. The packaged list lives in `monitor/data/companies.yaml`; users add
their own YAML files of the same schema through `load_vocabulary(extra_paths)`. Bad input fails
with a `VocabularyError` naming the file and line.

Matching (`Vocabulary.find`) works on word tokens rather than one giant regex so that a few
hundred aliases cost a dictionary lookup per token, which keeps `classify()` fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ROLES = frozenset({"cdmo", "pharma", "biotech", "supplier", "cro", "investor", "government", "other"})
MAX_ALIAS_TOKENS = 7

# Korean interpunct look-alikes (NFKC does not fold U+318D) and other dots, mapped to one "·".
_DOT_LOOKALIKES = str.maketrans(
    {"\u318d": "·", "\u119e": "·", "\u30fb": "·", "\u2027": "·", "\uff65": "·", "\u2219": "·"}
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_LATIN_EXTRA, _HANGUL, _KANA_CJK = "\u00c0-\u024f", "\uac00-\ud7a3", "\u3040-\u30ff\u4e00-\u9fff"
_TOKEN = re.compile(f"[0-9A-Za-z{_LATIN_EXTRA}]+|[{_HANGUL}]+|[{_KANA_CJK}]+")
_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})")
# The non-ASCII characters `_TOKEN` counts as letters: a text without them tokenizes as ASCII would.
_NON_ASCII_WORD_CHAR = re.compile(f"[{_LATIN_EXTRA}{_HANGUL}{_KANA_CJK}]")
# on ASCII text the words are the runs of [0-9A-Za-z]: everything else becomes one space each. A table
# for bytes.translate: str.translate looks each distinct character up in a dict on every call.
_ASCII_GAPS = bytes(c if c < 128 and chr(c).isalnum() else 32 for c in range(256))
_HANGUL_OR_CJK = re.compile(f"[{_HANGUL}{_KANA_CJK}]")


_SPECIAL_CHARS = re.compile("[\u318d\u119e\u30fb\u2027\uff65\u2219\u2018\u2019\u201c\u201d\u00a0]")
_SPECIAL_MAP = {**{chr(k): v for k, v in _DOT_LOOKALIKES.items()}, **{chr(k): v for k, v in _QUOTES.items()}}


def _replace_special(match: re.Match[str]) -> str:
    return _SPECIAL_MAP[match.group(0)]


def normalize_text(text: str) -> str:
    """NFKC, one kind of interpunct and quote, single spaces: the form every matcher sees.

    The look-alike dots are mapped before NFKC too, because NFKC turns U+318D into the jamo U+119E.
    """
    if not text.isascii():
        positions = non_ascii_positions(text)
        if positions is None:
            text = _SPECIAL_CHARS.sub(_replace_special, text)
        else:  # a few dashes, quotes or accents: replace the special ones present, each in one C pass
            for char in {text[p] for p in positions if text[p] in _SPECIAL_MAP}:
                text = text.replace(char, _SPECIAL_MAP[char])
        if not unicodedata.is_normalized("NFKC", text):
            text = _SPECIAL_CHARS.sub(_replace_special, unicodedata.normalize("NFKC", text))
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        # Already single-spaced (most news): every whitespace character but the space is unprintable,
        # so the only whitespace is single spaces between words, and splitting and joining changes nothing.
        return text
    return " ".join(text.split())  # str.split and the regex \s agree on what whitespace is


def _key(name: str) -> str:
    return " ".join(m.group(0).lower() for m in _TOKEN.finditer(normalize_text(name)))


class VocabularyError(ValueError):
    """A vocabulary file is malformed; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Company:
    """One company: canonical name, roles, aliases and parent (canonical name or None)."""

    name: str
    roles: frozenset[str]
    aliases: tuple[str, ...] = ()
    parent: str | None = None

    @property
    def is_cdmo(self) -> bool:
        return "cdmo" in self.roles


@dataclass(frozen=True, slots=True)
class Mention:
    """A company named in a text: canonical name, the words as written, and their span."""

    company: str
    text: str
    start: int
    end: int


def _mention(company: str, text: str, start: int, end: int) -> Mention:
    """`Mention(company, text, start, end)`, the fields set as the dataclass `__init__` sets them.

    Why: that generated `__init__` stays interpreted Python when this module is compiled, and a call
    to it costs several times more than these four assignments (`find` makes a few per item)."""
    mention = Mention.__new__(Mention)
    object.__setattr__(mention, "company", company)
    object.__setattr__(mention, "text", text)
    object.__setattr__(mention, "start", start)
    object.__setattr__(mention, "end", end)
    return mention


@dataclass(frozen=True, slots=True)
class _Alias:
    company: str
    exact_case: str | None  # the spelling required when case matters, else None
    first_upper: bool  # a capitalised single word must start with a capital in the text


@dataclass
class Vocabulary:
    """Known companies and an alias index; build it with `load_vocabulary`."""

    companies: dict[str, Company] = field(default_factory=dict)
    _by_key: dict[str, str] = field(default_factory=dict, repr=False)
    _phrases: dict[tuple[str, ...], list[_Alias]] = field(default_factory=dict, repr=False)
    _cjk_prefixes: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _where: dict[str, str] = field(default_factory=dict, repr=False)
    _first_tokens: dict[str, int] = field(default_factory=dict, repr=False)  # first word -> longest phrase
    _cdmo_group_cache: dict[str, bool] = field(default_factory=dict, repr=False)

    def canonical(self, name_or_alias: str) -> str | None:
        """The canonical name for a name or alias (case-insensitive), or None when unknown."""
        if name_or_alias in self.companies:
            return name_or_alias
        return self._by_key.get(_key(name_or_alias))

    def get(self, name: str) -> Company | None:
        company = self.companies.get(name)
        if company is not None:
            return company
        canonical = self.canonical(name)
        return self.companies.get(canonical) if canonical else None

    def is_cdmo_group(self, name: str) -> bool:
        """True for a CDMO, or a holding/conglomerate with a CDMO subsidiary (Fujifilm, Lotte)."""
        cached = self._cdmo_group_cache.get(name)
        if cached is None:
            cached = self._cdmo_group_cache[name] = self._compute_cdmo_group(name)
        return cached

    def _compute_cdmo_group(self, name: str) -> bool:
        company = self.get(name)
        if company is None:
            return False
        if company.is_cdmo:
            return True
        if not company.roles <= {"other"}:
            return False  # a pharma with a CDMO unit (Pfizer CentreOne) is still a client here
        return any(c.parent == company.name and c.is_cdmo for c in self.companies.values())

    def related(self, a: str, b: str) -> bool:
        """Same company, or one is the parent (or grandparent) of the other."""
        ca, cb = self.canonical(a), self.canonical(b)
        if ca is None or cb is None:
            return False
        return ca == cb or cb in self._ancestors(ca) or ca in self._ancestors(cb)

    def _ancestors(self, name: str) -> list[str]:
        found: list[str] = []
        company = self.companies.get(name)
        while company is not None and company.parent and company.parent not in found:
            found.append(company.parent)
            company = self.companies.get(company.parent)
        return found

    def find(
        self, text: str, words: list[str] | None = None, starts: list[int] | None = None, cjk: bool | None = None
    ) -> list[Mention]:
        """Every company alias in `text` (already normalised), longest match first, in order.

        `words` and `starts` are `tokenize(text.lower())`, and `cjk` is `has_hangul_or_cjk(text)`, when the
        caller already has them.
        """
        if words is None or starts is None:
            words, starts = tokenize(text.lower())
        first_tokens = self._first_tokens
        if cjk if cjk is not None else has_hangul_or_cjk(text):
            candidates = [i for i, w in enumerate(words) if w in first_tokens or _HANGUL_OR_CJK.match(w)]
        else:
            candidates = [i for i, w in enumerate(words) if w in first_tokens]
        mentions: list[Mention] = []
        next_free = 0
        for i in candidates:
            if i < next_free:
                continue  # inside the previous, longer mention
            hit = self._match_at(text, words, starts, i)
            if hit is not None:
                mentions.append(hit[0])
                next_free = i + hit[1]
        return mentions

    def _match_at(self, text: str, words: list[str], starts: list[int], i: int) -> tuple[Mention, int] | None:
        longest = self._first_tokens.get(words[i], 0)
        for width in range(min(longest, len(words) - i), 0, -1):
            candidates = self._phrases.get(tuple(words[i : i + width]))
            if not candidates:
                continue
            start, end = starts[i], starts[i + width - 1] + len(words[i + width - 1])
            written = text[start:end]
            for alias in candidates:
                if _case_fits(alias, written):
                    return _mention(alias.company, written, start, end), width
        if _HANGUL_OR_CJK.match(words[i]):
            return self._match_cjk_prefix(words[i], starts[i])
        return None

    def _match_cjk_prefix(self, word: str, start: int) -> tuple[Mention, int] | None:
        # Korean attaches particles (삼성바이오로직스는): accept an alias that starts the token.
        for alias, company in self._cjk_prefixes:
            if word.startswith(alias):
                return _mention(company, alias, start, start + len(alias)), 1
        return None

    # --- building ---------------------------------------------------------------------------

    def add(self, company: Company, where: str) -> None:
        """Add or extend a company; `where` ("file:line") is used in error messages."""
        existing = self.companies.get(self.canonical(company.name) or "")
        if existing is not None:
            company = Company(
                existing.name,
                existing.roles | company.roles,
                tuple(dict.fromkeys(existing.aliases + company.aliases)),
                company.parent or existing.parent,
            )
        for alias in (company.name, *company.aliases):
            self._index_alias(alias, company.name, where)
        self.companies[company.name] = company
        self._where.setdefault(company.name, where)

    def _index_alias(self, alias: str, company: str, where: str) -> None:
        key = _key(alias)
        if not key:
            raise VocabularyError(f"{where}: alias {alias!r} has no letters or digits")
        owner = self._by_key.get(key)
        if owner is not None and owner != company:
            raise VocabularyError(f"{where}: alias {alias!r} of {company!r} already names {owner!r}")
        self._by_key[key] = company
        phrase = tuple(key.split(" "))
        if len(phrase) > MAX_ALIAS_TOKENS:
            raise VocabularyError(f"{where}: alias {alias!r} has more than {MAX_ALIAS_TOKENS} words")
        self._first_tokens[phrase[0]] = max(self._first_tokens.get(phrase[0], 0), len(phrase))
        self._cdmo_group_cache.clear()
        entry = _Alias(company, _exact_case(alias), _first_upper(alias))
        bucket = self._phrases.setdefault(phrase, [])
        if entry not in bucket:
            bucket.append(entry)
        if _HANGUL_OR_CJK.search(alias) and len(phrase) == 1:
            self._cjk_prefixes.append((alias, company))
            self._cjk_prefixes.sort(key=lambda pair: -len(pair[0]))


def tokenize(lower: str) -> tuple[list[str], list[int]]:
    """Words of a lowercased text (Latin, Hangul and CJK runs) and where each starts."""
    plain = lower.encode("ascii") if lower.isascii() else _ascii_gaps(lower)
    if plain is not None:  # most news: every gap becomes one space, so str.split(" ") gives the offsets too
        words: list[str] = []
        starts: list[int] = []
        pos = 0
        for piece in plain.translate(_ASCII_GAPS).decode("ascii").split(" "):
            if piece:
                words.append(piece)
                starts.append(pos)
            pos += len(piece) + 1
        return words, starts
    # Splitting on the words (kept) alternates gaps and words; the running total of their lengths
    # gives every word's offset.
    pieces = _TOKEN_SPLIT.split(lower)
    offsets = list(accumulate(map(len, pieces)))
    return pieces[1::2], offsets[0:-1:2]


def _ascii_gaps(lower: str) -> bytes | None:
    """`lower` in ASCII with its non-ASCII characters as "?" (a gap), or None if one of them is a letter of a word."""
    positions = non_ascii_positions(lower)
    if positions is None or any(_NON_ASCII_WORD_CHAR.match(lower, p) is not None for p in positions):
        return None
    return lower.encode("ascii", "replace")


def non_ascii_positions(text: str, limit: int = 64) -> list[int] | None:
    """Where `text`'s non-ASCII characters are, or None when there are more than `limit` (Korean, Chinese...).

    English news has a few (dashes, quotes, accents, symbols): looking at each where the ASCII encoding
    put its "?" costs far less than scanning the whole text with a regex for every question asked of it.
    """
    encoded = text.encode("ascii", "replace")
    found: list[int] = []
    pos = encoded.find(b"?")
    while pos >= 0:
        if text[pos] != "?":
            if len(found) == limit:
                return None
            found.append(pos)
        pos = encoded.find(b"?", pos + 1)
    return found


def has_hangul_or_cjk(text: str) -> bool:
    """Whether `text` has a Hangul syllable, kana or CJK ideograph (Korean, Japanese, Chinese words)."""
    if text.isascii():
        return False
    positions = non_ascii_positions(text)
    if positions is None:
        return _HANGUL_OR_CJK.search(text) is not None
    return any(_HANGUL_OR_CJK.match(text, p) is not None for p in positions)


def _exact_case(alias: str) -> str | None:
    """Short capitals (GSK, AGC) and inner capitals (WuXi) must match as written."""
    if " " in alias.strip():
        return None
    letters = [c for c in alias if c.isalpha()]
    if not letters or not letters[0].isascii():
        return None
    if alias.isupper() and len(letters) <= 5:
        return alias
    if any(c.isupper() for c in letters[1:]) and not alias.isupper():
        return alias
    return None


def _first_upper(alias: str) -> bool:
    return " " not in alias.strip() and alias[:1].isupper()


def _case_fits(alias: _Alias, written: str) -> bool:
    if alias.exact_case is not None:
        return _letters(written) == _letters(alias.exact_case)
    if alias.first_upper:
        return written[:1].isupper()
    return True


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


# --- loading -------------------------------------------------------------------------------


def load_vocabulary(extra_paths: Sequence[Path] = ()) -> Vocabulary:
    """The packaged vocabulary merged with the user's YAML files (same schema), in order."""
    vocabulary = Vocabulary()
    packaged = resources.files("monitor").joinpath("data/companies.yaml")
    _load_into(vocabulary, packaged.read_text(encoding="utf-8"), "monitor/data/companies.yaml")
    for path in extra_paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise VocabularyError(f"{path}: cannot read vocabulary file: {exc.strerror}") from exc
        _load_into(vocabulary, text, str(path))
    _check_parents(vocabulary)
    return vocabulary


def _load_into(vocabulary: Vocabulary, text: str, source: str) -> None:
    for company, line in _parse_entries(text, source):
        vocabulary.add(company, f"{source}:{line}")


def _parse_entries(text: str, source: str) -> Iterator[tuple[Company, int]]:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise VocabularyError(f"{source}:{line}: not valid YAML: {exc.problem}") from exc
    if root is None:
        return
    if not isinstance(root, yaml.MappingNode):
        raise VocabularyError(f"{source}:{root.start_mark.line + 1}: expected a mapping with a 'companies' list")
    companies = _mapping_value(root, "companies")
    if companies is None:
        raise VocabularyError(f"{source}:{root.start_mark.line + 1}: missing the 'companies' list")
    if not isinstance(companies, yaml.SequenceNode):
        raise VocabularyError(f"{source}:{companies.start_mark.line + 1}: 'companies' must be a list")
    for node in companies.value:
        line = node.start_mark.line + 1
        yield _company_from_node(node, f"{source}:{line}"), line


def _mapping_value(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key and isinstance(value_node, yaml.Node):
            return value_node
    return None


def _company_from_node(node: yaml.Node, where: str) -> Company:
    if not isinstance(node, yaml.MappingNode):
        raise VocabularyError(f"{where}: each company must be a mapping with name, roles, aliases")
    data = _Loader("").construct_document(node)
    if not isinstance(data, dict):
        raise VocabularyError(f"{where}: each company must be a mapping with name, roles, aliases")
    unknown = set(data) - {"name", "roles", "aliases", "parent"}
    if unknown:
        raise VocabularyError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise VocabularyError(f"{where}: 'name' must be a non-empty string")
    roles = _string_list(data.get("roles", ["other"]), "roles", where)
    bad_roles = [r for r in roles if r not in ROLES]
    if bad_roles:
        raise VocabularyError(f"{where}: unknown role(s) {bad_roles} for {name!r}; use {sorted(ROLES)}")
    aliases = _string_list(data.get("aliases") or [], "aliases", where)
    parent = data.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise VocabularyError(f"{where}: 'parent' must be a company name")
    return Company(name.strip(), frozenset(roles), tuple(a.strip() for a in aliases), parent)


def _string_list(value: Any, field_name: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise VocabularyError(f"{where}: '{field_name}' must be a list of non-empty strings")
    return list(value)


def _check_parents(vocabulary: Vocabulary) -> None:
    for company in list(vocabulary.companies.values()):
        if company.parent is None:
            continue
        parent = vocabulary.canonical(company.parent)
        if parent is None:
            where = vocabulary._where.get(company.name, "?")
            raise VocabularyError(f"{where}: unknown parent {company.parent!r} of {company.name!r}")
        if parent != company.parent:
            vocabulary.companies[company.name] = Company(company.name, company.roles, company.aliases, parent)
