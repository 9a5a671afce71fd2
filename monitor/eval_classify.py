"""Measure the classifier against hand-labelled items (the corpus format of `dev.jsonl`).

Why a module of its own: the same figures must come out of `monitor eval PATH`, the tests and a
quick `python -c`, and the matching rules for fields must be written down once, here:

* labels: precision, recall and F1 per label over all rows.
* `cdmo`: scored on rows whose gold labels are not empty and whose gold `cdmo` is stated. Gold
  text may list several companies ("Ajinomoto / Forge Biologics", "Lonza; Thermo Fisher",
  "Thermo Fisher Scientific (Patheon)"); the prediction is right when it names any of them, compared
  through the vocabulary (aliases, case, and parent/subsidiary count as the same company), else by
  case-insensitive word prefix ("Lotte" matches "Lotte Biologics").
* `client`: scored on rows labelled `cdmo_contract` with a stated gold client, same rule;
  "undisclosed" matches any gold client that says undisclosed/unnamed.
* `value`: scored on flagged rows whose gold value parses as money and whose title or summary
  states some amount (gold values taken from an article body are not scored); right when the predicted USD
  value is within ±10% of the gold value's USD conversion (fixed rates of `monitor.money`), or of
  any other amount the gold text states (gold often gives "X won ($Y)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from monitor.classify import classify, default_vocabulary
from monitor.money import find_amounts
from monitor.types import LABELS, Classification
from monitor.vocabulary import Vocabulary

VALUE_TOLERANCE = 0.10


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class FieldScore:
    name: str
    right: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass(frozen=True, slots=True)
class Miss:
    """One row where labels or a scored field disagree with the gold."""

    id: str
    expected: tuple[str, ...]
    got: tuple[str, ...]
    title: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ClassifierReport:
    rows: int
    labels: tuple[LabelScore, ...]
    fields: tuple[FieldScore, ...]
    misses: tuple[Miss, ...] = field(default=())
    version: str = ""


def evaluate(rows: list[dict[str, Any]]) -> ClassifierReport:
    """Classify every row and compare with its gold labels and fields."""
    vocabulary = default_vocabulary()
    counts: dict[str, list[int]] = {label: [0, 0, 0] for label in LABELS}
    fields = {"cdmo": [0, 0], "client": [0, 0], "value": [0, 0]}
    misses: list[Miss] = []
    version = ""
    for row in rows:
        result = classify(row.get("title") or "", row.get("summary") or "", vocabulary)
        version = result.version
        gold = tuple(label for label in LABELS if label in (row.get("labels") or []))
        _count_labels(counts, gold, result.labels)
        wrong_fields = _score_fields(fields, row, gold, result, vocabulary)
        if gold != result.labels or wrong_fields:
            detail = "; ".join(wrong_fields)
            misses.append(Miss(str(row.get("id", "?")), gold, result.labels, row.get("title") or "", detail))
    return ClassifierReport(
        rows=len(rows),
        labels=tuple(LabelScore(label, *counts[label]) for label in LABELS),
        fields=tuple(FieldScore(name, right, total) for name, (right, total) in fields.items()),
        misses=tuple(misses),
        version=version,
    )


def _count_labels(counts: dict[str, list[int]], gold: tuple[str, ...], got: tuple[str, ...]) -> None:
    for label in LABELS:
        if label in gold and label in got:
            counts[label][0] += 1
        elif label in got:
            counts[label][1] += 1
        elif label in gold:
            counts[label][2] += 1


def _score_fields(
    fields: dict[str, list[int]],
    row: dict[str, Any],
    gold: tuple[str, ...],
    result: Classification,
    vocabulary: Vocabulary,
) -> list[str]:
    wrong: list[str] = []
    entities = result.entities
    checks: list[tuple[str, bool, bool]] = []
    if gold and row.get("cdmo"):
        checks.append(("cdmo", True, names_match(entities.cdmo, row["cdmo"], vocabulary)))
    if "cdmo_contract" in gold and row.get("client"):
        checks.append(("client", True, names_match(entities.client, row["client"], vocabulary)))
    stated_amounts = find_amounts(f"{row.get('title') or ''} {row.get('summary') or ''}")
    gold_usd = _gold_usd(row.get("value")) if gold and stated_amounts else []
    if gold_usd:
        checks.append(("value", True, value_matches(entities.value_usd, gold_usd)))
    for name, _, ok in checks:
        fields[name][1] += 1
        if ok:
            fields[name][0] += 1
        else:
            wrong.append(f"{name}: expected {row.get(name)!r}, got {getattr(entities, name)!r}")
    return wrong


def _gold_usd(value: Any) -> list[float]:
    return [a.usd for a in find_amounts(str(value))] if value else []


def value_matches(predicted_usd: float | None, gold_usd: list[float]) -> bool:
    """Within ±10% of any amount the gold value states."""
    if predicted_usd is None:
        return False
    return any(abs(predicted_usd - g) <= VALUE_TOLERANCE * g for g in gold_usd if g > 0)


_UNDISCLOSED_GOLD = re.compile(r"undisclosed|unnamed|anonymous", re.IGNORECASE)


def names_match(predicted: str | None, gold: str, vocabulary: Vocabulary) -> bool:
    """Does the predicted company name any of the companies listed in the gold text?"""
    if not predicted:
        return False
    if predicted == "undisclosed":
        return bool(_UNDISCLOSED_GOLD.search(gold))
    return any(vocabulary.related(predicted, part) or _word_prefix(predicted, part) for part in _gold_parts(gold))


def _gold_parts(gold: str) -> list[str]:
    inside = re.findall(r"\(([^)]*)\)", gold)
    outside = re.sub(r"\([^)]*\)", " ", gold)
    parts = re.split(r"[;/,]| and ", outside) + [p for chunk in inside for p in re.split(r"[;/,]", chunk)]
    cleaned = (re.sub(r"^(?:and|or|for|via|incl\.?)\s+", "", p.strip(), flags=re.IGNORECASE) for p in parts)
    return [p for p in cleaned if p]


def _words(name: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", name.lower())


def _word_prefix(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return long[: len(short)] == short


def format_report(report: ClassifierReport, show_errors: bool = True) -> str:
    """A plain-text report: per-label P/R/F1, field accuracy, then the misclassified rows."""
    lines = [f"classifier {report.version} on {report.rows} items", ""]
    lines.append(f"{'label':<18}{'precision':>10}{'recall':>10}{'F1':>8}{'tp':>6}{'fp':>6}{'fn':>6}")
    for s in report.labels:
        lines.append(f"{s.label:<18}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}{s.tp:>6}{s.fp:>6}{s.fn:>6}")
    lines.append("")
    for f in report.fields:
        lines.append(f"{f.name + ' accuracy':<18}{f.accuracy:>10.3f}  ({f.right}/{f.total})")
    if show_errors and report.misses:
        lines += ["", f"misclassified or wrong fields ({len(report.misses)}):"]
        for miss in report.misses:
            expected = ",".join(miss.expected) or "-"
            got = ",".join(miss.got) or "-"
            lines.append(f"  {miss.id:<10} expected {expected:<32} got {got:<32} {miss.title[:90]}")
            if miss.detail:
                lines.append(f"  {'':<10} {miss.detail}")
    return "\n".join(lines)
