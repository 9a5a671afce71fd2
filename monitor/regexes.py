"""Regexes that scan long texts faster: a lookahead of the characters a match can start with.

Why: Python's regex engine tries a pattern at every position of the text unless it can tell which
characters a match starts with. It works that out for a plain literal or character class, but not for
alternatives behind a word boundary (`\\b(?:two|three)`), groups or repeats, which is how most of the
classifier's and the grouping's patterns begin. `scanning(pattern)` reads the pattern's parse tree,
collects the characters the first consumed character can be, and compiles `(?=[those])(?:pattern)`.
The engine then skips every other position in C. Matches are identical: the lookahead admits every
position where the pattern could start (a superset is harmless; when the set cannot be worked out, or
the pattern ignores case, the pattern is compiled unchanged).

The parse tree comes from `re._parser`, CPython's own (private) parser; if it ever changes shape the
function falls back to plain `re.compile`, and tests/test_regexes.py compares both on every pattern.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

_sre: Any
_parse: Any
try:  # CPython 3.11+ (private modules, untyped in typeshed)
    _sre = importlib.import_module("re._constants")
    _parse = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - another implementation: no prefix, same results
    _sre = _parse = None

__all__ = ["first_characters", "scanning", "source_of"]


def scanning(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, prefixed with a lookahead of its possible first characters.

    Not when the pattern starts with a literal, a character class or a choice of literals: the
    engine then skips to candidates by itself, faster than with a lookahead (which it cannot use
    for that: it would try the lookahead at every position)."""
    atoms = first_characters(pattern, flags)
    if atoms is None or _engine_skips(pattern, flags):
        return re.compile(pattern, flags)
    try:
        return re.compile(f"{_PREFIX_START}{''.join(sorted(atoms))}{_PREFIX_END}{pattern})", flags)
    except re.error:  # e.g. inline global flags, which must open the pattern
        return re.compile(pattern, flags)


def source_of(pattern: re.Pattern[str]) -> str:
    """The pattern `scanning` was given (a pattern compiled without a lookahead is its own source)."""
    source = pattern.pattern
    if source.startswith(_PREFIX_START) and _PREFIX_END in source:
        return source.split(_PREFIX_END, 1)[1][:-1]
    return source


_PREFIX_START, _PREFIX_END = "(?=[", "])(?:"  # how `scanning` wraps a pattern


def first_characters(pattern: str, flags: int = 0) -> set[str] | None:
    """Character-class atoms (escaped characters, ranges, \\d) a match must start with, or None."""
    if _parse is None or flags & re.IGNORECASE:
        return None
    try:
        tree = _parse.parse(pattern, flags)
    except Exception:  # any surprise from a private parser means "do not know"
        return None
    if tree.state.flags & re.IGNORECASE:
        return None
    atoms, can_be_empty = _first(list(tree))
    return None if can_be_empty else atoms


def _engine_skips(pattern: str, flags: int) -> bool:
    """Whether CPython's compiler gives the pattern a literal prefix or a first-character set of its
    own (`_compile_info`): it starts, inside plain groups, with a literal, a class, or a choice of
    alternatives that each start with a literal."""
    items = list(_parse.parse(pattern, flags))
    while items:
        op, arg = items[0]
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = arg
            if add_flags or del_flags:
                return False
            items = list(inner)
            continue
        if op is _sre.LITERAL or op is _sre.IN:
            return True
        if op is _sre.BRANCH:
            return all(bool(branch) and next(iter(branch))[0] is _sre.LITERAL for branch in arg[1])
        return False
    return False


def _first(items: list[tuple[Any, Any]]) -> tuple[set[str] | None, bool]:
    """First-character atoms of a sequence (None: unknown) and whether it can match the empty string."""
    found: set[str] = set()
    for op, arg in items:
        if op is _sre.AT or op in (_sre.ASSERT, _sre.ASSERT_NOT):
            continue  # zero-width: the first consumed character comes after it
        if op is _sre.LITERAL:
            return found | {_escape(arg)}, False
        if op is _sre.IN:
            atoms = _class_atoms(arg)
            return (None if atoms is None else found | atoms), False
        if op is _sre.BRANCH:
            parts = [_first(list(branch)) for branch in arg[1]]
            if any(atoms is None for atoms, _ in parts):
                return None, False
            for atoms, _ in parts:
                found |= atoms or set()
            optional = any(empty for _, empty in parts)
        elif op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = arg
            if add_flags or del_flags:
                return None, False
            atoms, optional = _first(list(inner))
            if atoms is None:
                return None, False
            found |= atoms
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, _high, inner = arg
            atoms, optional = _first(list(inner))
            if atoms is None:
                return None, False
            found |= atoms
            optional = optional or low == 0
        else:
            return None, False  # ANY, backreferences, conditionals, ...: do not know
        if not optional:
            return found, False
    return found, True  # everything so far was optional or zero-width


def _class_atoms(members: list[tuple[Any, Any]]) -> set[str] | None:
    atoms: set[str] = set()
    for op, arg in members:
        if op is _sre.LITERAL:
            atoms.add(_escape(arg))
        elif op is _sre.RANGE:
            atoms.add(f"{_escape(arg[0])}-{_escape(arg[1])}")
        elif op is _sre.CATEGORY and arg is _sre.CATEGORY_DIGIT:
            atoms.add(r"\d")
        elif op is _sre.CATEGORY and arg is _sre.CATEGORY_WORD:
            atoms.add(r"\w")
        elif op is _sre.CATEGORY and arg is _sre.CATEGORY_SPACE:
            atoms.add(r"\s")
        else:  # a negated class or another category: don't know
            return None
    return atoms


def _escape(codepoint: int) -> str:
    char = chr(codepoint)
    return "\\" + char if char in "\\]^-[" else char
