"""The records passed between stages."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

from monitor.types import Classification, Entities, ParsedItem


def test_entities_to_dict_lists_every_field() -> None:
    # to_dict is written out by hand for speed: it must not drift from the dataclass
    entities = Entities(cdmo="Lonza", companies=("Lonza", "Acme"), value_usd=1.5e8, value_inconsistent=True)
    data = entities.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(Entities)}
    assert data["companies"] == ["Lonza", "Acme"] and data["value_usd"] == 1.5e8 and data["value_inconsistent"]


def test_items_and_classifications_survive_pickling_with_every_field_set() -> None:
    # Parse workers pickle these to the storing process through the dataclasses' positional fields
    # (types._PickledByFields): a field left out of the constructor's arguments would be lost here.
    published = datetime(2026, 11, 2, tzinfo=UTC)
    item = ParsedItem("g-1", "https://x.example/a", "Lonza signs", "summary", published, "x.example")
    entities = Entities("Lonza", "Acme", "$10 million", 1e7, True, "Visp", "mAb", "commercial", ("Lonza", "Acme"))
    classification = Classification(("cdmo_contract",), entities, {"cdmo_contract": ("signs",)}, "9")
    defaults = (ParsedItem("", None, ""), Entities(), Classification())
    for record, default in zip((item, entities, classification), defaults, strict=True):
        assert all(getattr(record, f.name) != getattr(default, f.name) for f in dataclasses.fields(record))
        copy = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        assert copy == record and type(copy) is type(record)
