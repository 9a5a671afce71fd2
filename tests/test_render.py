"""Slack rendering: feed text is inert, links are ours, Block Kit limits hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block

from monitor.render import StoryView, escape, link, render_follow_up, render_story, safe_url
from monitor.types import Entities

HOSTILE = "<!channel> Deal <@U123> signed <https://evil.example|click> & <!here> <#C999>"


def view(**overrides: object) -> StoryView:
    base: dict[str, object] = {
        "title": HOSTILE,
        "url": "https://news.example.com/a?b=1",
        "labels": ("cdmo_contract",),
        "entities": Entities(cdmo="Lonza <!everyone>", client="Acme", value="$120 million", value_usd=120e6),
        "outlets": ("news.example.com", "<!channel>.example"),
        "published": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        "evidence": {"cdmo_contract": ("signed a manufacturing agreement <!here>",)},
    }
    base.update(overrides)
    return StoryView(**base)  # type: ignore[arg-type]


def all_text(message_blocks: list[dict[str, object]], text: str) -> str:
    return json.dumps(message_blocks) + text


def test_escape_order_and_idempotence_of_controls() -> None:
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"


def test_hostile_feed_text_cannot_notify_or_link() -> None:
    message = render_story(view())
    rendered = all_text(message.blocks, message.text)
    for token in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C999>", "<https://evil.example|"):
        assert token not in rendered
    assert "&lt;!channel&gt;" in message.text
    # the only link is the one we built, to the item
    assert "<https://news.example.com/a?b=1|" in message.blocks[0]["text"]["text"]  # type: ignore[index]


def test_mention_comes_only_from_the_rule() -> None:
    message = render_story(view(mention="@here", title="Plain"))
    assert message.blocks[0]["text"]["text"].startswith("@here ")  # type: ignore[index]
    assert "@here" not in render_story(view(title="Plain")).text


def test_links_only_http_and_cannot_break_out() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/a|b>c") == "https://x.example/a%7Cb%3Ec"
    assert link("ftp://x", "label <b>") == "label &lt;b&gt;"
    assert link("https://x.example", "a|b") == "<https://x.example|a¦b>"


def test_blocks_validate_with_slack_sdk_models_and_stay_within_limits() -> None:
    long_title = "CDMO " * 2000
    message = render_story(view(title=long_title, outlets=tuple(f"o{i}.example" for i in range(500))))
    assert len(message.blocks) <= 50
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
        assert len(json.dumps(block)) < 12_000
    assert len(message.text) < 4000


def test_fields_show_value_in_usd_and_inconsistency() -> None:
    entities = Entities(cdmo="Samsung Biologics", value="53.5 billion won", value_usd=41e6, value_inconsistent=True)
    text = json.dumps(render_story(view(title="t", entities=entities)).blocks)
    assert "53.5 billion won" in text and "41.0M" in text and "values disagree" in text


def test_follow_up_escapes_too() -> None:
    message = render_follow_up("<!channel>", "<@U1> title", "https://y.example/z")
    assert "<!channel>" not in message.text and "<@U1>" not in json.dumps(message.blocks)
