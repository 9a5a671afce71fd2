"""The records passed between stages."""

from __future__ import annotations

import dataclasses

from monitor.types import Entities


def test_entities_to_dict_lists_every_field() -> None:
    # to_dict is written out by hand for speed: it must not drift from the dataclass
    entities = Entities(cdmo="Lonza", companies=("Lonza", "Acme"), value_usd=1.5e8, value_inconsistent=True)
    data = entities.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(Entities)}
    assert data["companies"] == ["Lonza", "Acme"] and data["value_usd"] == 1.5e8 and data["value_inconsistent"]
