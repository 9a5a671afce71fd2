"""Placeholder classifier (being replaced): flags CDMO contracts and plant milestones by keywords."""

from __future__ import annotations

import re

from monitor.types import Classification, Entities, Label

CLASSIFIER_VERSION = "0-placeholder"

_CONTRACT = re.compile(r"\b(CDMO|CMO|contract manufactur\w*|manufacturing (?:agreement|deal|contract))\b", re.I)
_PLANT = re.compile(r"\b(plant|facility|site)\b.*\b(groundbreaking|completes?|opens?|breaks ground|acquires?)\b", re.I)


def classify(title: str, summary: str = "", vocabulary: object = None) -> Classification:
    """Label one item from its title and summary."""
    text = f"{title}\n{summary}"
    labels: list[Label] = []
    evidence: dict[str, tuple[str, ...]] = {}
    if m := _CONTRACT.search(text):
        labels.append("cdmo_contract")
        evidence["cdmo_contract"] = (m.group(0),)
    if m := _PLANT.search(text):
        labels.append("plant_milestone")
        evidence["plant_milestone"] = (m.group(0),)
    return Classification(labels=tuple(labels), entities=Entities(), evidence=evidence, version=CLASSIFIER_VERSION)
