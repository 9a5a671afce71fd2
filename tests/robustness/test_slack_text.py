"""Hostile text on its way to Slack (catalogue rows S01–S09).

Feed text goes parse -> store -> render -> chat.postMessage. The end-to-end tests here run the real
pipeline against the Slack stand-in and assert on the JSON payload Slack would receive; the others
assert on the rendered message (validated with slack-sdk's Block Kit models).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from monitor.render import StoryView, escape, render_digest, render_story, safe_url
from monitor.text import plain_text
from monitor.types import Entities
from tests.robustness.conftest import NOISE, Monitor, contract, item, parse, rss_doc

MENTIONS = "<!channel> <!here> <!everyone> <@U024BE7LH> <!subteam^SAZ94GDB8> <#C024BE7LR> <!date^1392734382^x|y>"


def view(title: str, url: str | None = "https://news.example.com/a", **kw: object) -> StoryView:
    base: dict[str, object] = {
        "title": title, "url": url, "labels": ("cdmo_contract",), "entities": Entities(cdmo="Lonza"),
        "outlets": ("news.example.com",), "published": datetime(2026, 11, 22, tzinfo=UTC),
    }  # fmt: skip
    base.update(kw)
    return StoryView(**base)  # type: ignore[arg-type]


def payload_text(blocks: list[dict[str, object]], text: str) -> str:
    return json.dumps(blocks, ensure_ascii=False) + "\n" + text


def live_tokens(rendered: str) -> list[str]:
    """Every `<...>` control sequence left in a payload (Slack parses only these)."""
    return re.findall(r"<[^<>]*>", rendered)


def deliver_title(
    monitor: Monitor, title: str, link: str | None = None, description: str | None = None
) -> dict[str, object]:
    """Run the real pipeline with one flagged item carrying `title`; return the chat.postMessage body."""
    monitor.write_feeds({"wire": "/wire.xml"})
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n")]))
    monitor.poll()
    hostile = {**contract(0), "title": contract(0)["title"] + " " + title}
    if link:
        hostile["link"] = link
    if description:
        hostile["description"] = hostile["description"] + " " + description
    monitor.feeds.set("/wire.xml", rss_doc([item(NOISE, "n"), hostile]))
    monitor.cycle()
    (post,) = monitor.slack.posts()
    return post.body


def test_S01_mention_tokens_in_titles_notify_no_one(monitor: Monitor) -> None:
    """S01: `<!channel> <!here> <!everyone> <@U…> <!subteam^…> <#C…>` in a title arrive escaped
    (`&lt;!channel&gt;`): the only `<…>` sequence in the payload is the item link we built."""
    body = deliver_title(monitor, html.escape(MENTIONS))
    rendered = payload_text(body["blocks"], str(body["text"]))  # type: ignore[arg-type]
    for token in MENTIONS.split():
        assert token not in rendered
    assert "&lt;!channel&gt;" in str(body["text"]) and "&lt;@U024BE7LH&gt;" in str(body["text"])
    assert {t.split("|")[0] for t in live_tokens(rendered)} == {"<https://news.example.com/c0"}


def test_S02_deceptive_links_stay_text_and_only_our_link_is_live(monitor: Monitor) -> None:
    """S02: `<https://evil.example|Approve invoice>` in title and summary: escaped; the live link is the
    one built from the validated item URL."""
    body = deliver_title(monitor, html.escape("<https://evil.example|Approve invoice>"),
                         description=html.escape("<http://x.example|y>"))  # fmt: skip
    rendered = payload_text(body["blocks"], str(body["text"]))  # type: ignore[arg-type]
    assert "<https://evil.example" not in rendered and "<http://x.example" not in rendered
    assert all(t.startswith("<https://news.example.com/c0|") for t in live_tokens(rendered))


@pytest.mark.parametrize("source", ["AT&T & Lonza", "already &amp; escaped", "&lt;b&gt; literal", "a<b>c & d>e"])
def test_S03_ampersands_escape_first_and_display_equals_source(source: str) -> None:
    """S03: `&` is escaped first, so unescaping the payload once gives back exactly the source text
    (no double unescape, no lost `&`)."""
    escaped = escape(source)
    assert "<" not in escaped and ">" not in escaped
    assert html.unescape(escaped) == source


def test_S04_bare_at_mentions_are_inert(monitor: Monitor) -> None:
    """S04: bare `@channel @here @everyone`: sent with link_names=false and no `parse` option, so Slack
    does not turn them into mentions."""
    body = deliver_title(monitor, "@channel @here @everyone")
    assert body["link_names"] in (False, 0, "false") and "parse" not in body
    assert "@channel @here @everyone" in str(body["text"])


def test_S05_mrkdwn_specials_give_a_valid_message() -> None:
    """S05: `*`, `_`, `~`, backticks, a leading `>` and an unbalanced code fence: blocks stay valid Block
    Kit (layout may degrade; nothing is injected)."""
    message = render_story(view("> *bold* _it_ ~s~ `code` ```unbalanced fence"))
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    assert "&gt; *bold*" in message.text


BIDI = "\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\ufeff"


def test_S06_bidi_and_zero_width_controls_are_stripped() -> None:
    """S06: U+202E, U+2066–2069, zero-width and BOM characters are removed from stored text; CJK,
    Arabic, Hebrew, combining marks and emoji survive. (The bidi isolates U+2066–2069 were kept; fixed in
    text.py.)"""
    text = plain_text(f"Deal{BIDI} 受託 عقد חוזה e\u0301 🧪")
    assert not any(ch in text for ch in BIDI)
    assert text == "Deal 受託 عقد חוזה e\u0301 🧪"


@pytest.mark.parametrize("unit", ["🇰🇷", "e\u0301", "👩🏽", "😀"])
def test_S06_truncation_never_splits_a_flag_emoji_or_accent(unit: str) -> None:
    """S06: clipping a long title never cuts inside a flag (two regional indicators), a skin-tone
    sequence or a base+combining-mark pair. Fixed in render.py (_clip cut at a cluster boundary)."""
    message = render_story(view(unit * 600))
    text = message.text.split(": ", 1)[1].split(" (")[0]
    assert text.endswith("…")
    kept = text[:-1]
    assert len(kept) % len(unit) == 0 and kept == unit * (len(kept) // len(unit))


def test_S07_huge_title_and_summary_stay_within_slack_limits() -> None:
    """S07: a 10k-character title and 100k-character summary: every section ≤ 3,000 chars, the top-level
    text ≤ 4,000, ≤ 50 blocks, truncation marked with "…"."""
    long_title = "CDMO deal " * 1000
    entry = parse(rss_doc([{"title": long_title, "guid": "g", "description": "x" * 100_000}])).items[0]
    message = render_story(view(entry.title, evidence={"cdmo_contract": (entry.summary,)}))
    assert len(message.blocks) <= 50 and len(message.text) <= 4000 and "…" in message.text
    for block in message.blocks:
        texts = [block["text"]["text"]] if "text" in block else [e["text"] for e in block["elements"]]
        assert all(len(t) <= 3000 for t in texts)
    assert len(json.dumps(message.blocks)) < 12_000


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/a|b>c", "https://x.example/a%7Cb%3Ec"),
        ("https://x.example/a b\"c'", "https://x.example/a%20b%22c'"),
        ("https://x.example/ünï", "https://x.example/%C3%BCn%C3%AF"),
        ("https://bücher.example/p", "https://xn--bcher-kva.example/p"),
        ("https://xn--80ak6aa92e.com/", "https://xn--80ak6aa92e.com/"),
    ],
)
def test_S08_item_urls_are_percent_encoded_and_idn_hosts_punycode(url: str, expected: str) -> None:
    """S08: `|`, `>`, spaces, quotes and non-ASCII paths are percent-encoded; an IDN host is shown as
    punycode (it was percent-encoded, which broke the link; fixed in render.safe_url)."""
    assert safe_url(url) == expected
    rendered = render_story(view("t", url=url)).blocks[0]["text"]["text"]
    assert f"<{expected}|" in rendered


def test_S09_digest_of_200_items_is_split_into_valid_messages() -> None:
    """S09: a 200-story digest is rendered in chunks (as digest.py does, DIGEST_MAX_STORIES at a time):
    each message ≤ 50 blocks, sections ≤ 3,000 chars, fallback text ≤ 4,000, and all 200 appear in order."""
    from monitor.render import DIGEST_MAX_STORIES

    views = [view(f"Story {n:03d} " + "x" * 400 + " <!channel>", url=f"https://n.example/{n}") for n in range(200)]
    seen: list[str] = []
    for start in range(0, len(views), DIGEST_MAX_STORIES):
        message = render_digest("everything", views[start : start + DIGEST_MAX_STORIES])
        assert len(message.blocks) <= 50 and len(message.text) <= 4000
        assert "<!channel>" not in json.dumps(message.blocks) + message.text
        for block in message.blocks:
            assert len(block["text"]["text"]) <= 3000
            Block.parse(block).validate_json()  # type: ignore[union-attr]
        seen += re.findall(r"Story (\d{3})", json.dumps(message.blocks))
    assert seen == [f"{n:03d}" for n in range(200)]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_S01_S03_property_no_control_sequence_survives_escaping(title: str) -> None:
    """S01/S03 property: for any title, the rendered payload contains no `<`/`>` except in the one link we
    build, and unescaping the escaped title gives the original text back."""
    message = render_story(view(title))
    rendered = payload_text(message.blocks, message.text)
    assert all(t.startswith("<https://news.example.com/a|") for t in live_tokens(rendered))
    assert html.unescape(escape(title)) == title
