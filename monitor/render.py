"""Slack messages for stories: Block Kit plus a plain-text fallback. Pure.

Feed text is written by strangers: every piece of it is escaped for Slack mrkdwn (`&`, `<`, `>`) so that
`<!channel>` or `<https://evil|click>` in a headline notifies and links no one, and links are built here
from http(s) URLs only. Mentions come only from rules. Blocks are built with slack-sdk's block models,
whose validators enforce Slack's length limits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from monitor.types import Entities

SECTION_LIMIT = 3000
LABEL_NAMES = {"cdmo_contract": "CDMO contract", "plant_milestone": "Plant milestone"}


def escape(text: str) -> str:
    """Escape Slack's three control characters, `&` first, in one pass over the text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str | None) -> str | None:
    """The URL, percent-encoded so it cannot break out of `<url|label>`, or None if not http(s)."""
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not parts.netloc.isascii():  # an IDN host: punycode (percent-encoding a host breaks the link)
        try:
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        port = f":{parts.port}" if parts.port else ""
        url = urlunsplit((parts.scheme, host + port, parts.path, parts.query, parts.fragment))
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def link(url: str | None, label: str) -> str:
    """A mrkdwn link with an escaped label; plain escaped text when the URL is not usable."""
    target = safe_url(url)
    text = escape(label).replace("|", "¦")
    return f"<{target}|{text}>" if target else text


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in "…" when cut; never inside a flag, emoji sequence or accent."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and _joins_previous(text, cut):
        cut -= 1
    return text[:cut] + "…"


def _joins_previous(text: str, index: int) -> bool:
    """Whether text[index] continues the character cluster before it (so cutting there would split it)."""
    char, before = text[index], text[index - 1]
    if unicodedata.combining(char) or char in "\u200d\ufe0e\ufe0f" or before == "\u200d":
        return True
    if "\U0001f3fb" <= char <= "\U0001f3ff":  # skin-tone modifier
        return True
    if _is_regional(char) and _is_regional(before):  # flags are pairs of regional indicators
        run = 0
        while index - run - 1 >= 0 and _is_regional(text[index - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _is_regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


@dataclass(frozen=True, slots=True)
class StoryView:
    """What a message shows about a story."""

    title: str
    url: str | None
    labels: tuple[str, ...]
    entities: Entities
    outlets: tuple[str, ...]
    published: datetime | None
    evidence: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mention: str | None = None  # from the rule only


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]


def _fields_line(entities: Entities) -> list[str]:
    parts = []
    if entities.cdmo:
        parts.append(f"*CDMO:* {escape(entities.cdmo)}")
    if entities.client:
        parts.append(f"*Client:* {escape(entities.client)}")
    if entities.value:
        usd = f" (≈ ${entities.value_usd / 1e6:,.1f}M)" if entities.value_usd else ""
        flag = " ⚠ values disagree" if entities.value_inconsistent else ""
        parts.append(f"*Value:* {escape(entities.value)}{usd}{flag}")
    if entities.site:
        parts.append(f"*Site:* {escape(entities.site)}")
    if entities.modality:
        parts.append(f"*Modality:* {escape(entities.modality)}")
    if entities.stage:
        parts.append(f"*Stage:* {escape(entities.stage)}")
    return parts


def render_story(view: StoryView) -> Message:
    """The first alert of a story."""
    kinds = " + ".join(LABEL_NAMES.get(label, label) for label in view.labels) or "Event"
    headline = link(view.url, _clip(view.title or "(no title)", 400))
    mention = f"{view.mention} " if view.mention else ""
    details = _fields_line(view.entities)
    outlets = ", ".join(escape(o) for o in view.outlets[:20]) or "unknown outlet"
    when = view.published.strftime("%Y-%m-%d %H:%M UTC") if view.published else "time not stated"
    why = "; ".join(
        f"{LABEL_NAMES.get(key, key)}: " + ", ".join(f"“{escape(_clip(p, 80))}”" for p in phrases[:4])
        for key, phrases in view.evidence.items()
        if key in LABEL_NAMES and phrases
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_clip(f"{mention}*{kinds}*\n{headline}", SECTION_LIMIT))),
    ]
    if details:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip("  ·  ".join(details), SECTION_LIMIT))))
    context = [MarkdownTextObject(text=_clip(f"Reported by {outlets} · {when}", SECTION_LIMIT))]
    if why:
        context.append(MarkdownTextObject(text=_clip(f"Why: {why}", SECTION_LIMIT)))
    blocks.append(ContextBlock(elements=context))
    text = f"{mention}{kinds}: {escape(_clip(view.title, 400))} ({outlets})"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def render_follow_up(outlet: str, title: str, url: str | None) -> Message:
    """A thread reply when another outlet reports a story already alerted."""
    line = f"Also reported by {escape(outlet or 'another outlet')}: {link(url, _clip(title, 400))}"
    block = SectionBlock(text=MarkdownTextObject(text=_clip(line, SECTION_LIMIT)))
    return Message(text=_clip(f"Also reported by {escape(outlet)}: {escape(title)}", 3000), blocks=[block.to_dict()])


DIGEST_MAX_STORIES = 20  # one line (a section) per story keeps a digest message well under 50 blocks


def render_digest(rule: str, views: list[StoryView], mention: str | None = None) -> Message:
    """One message listing a period's stories (the caller splits long periods into several)."""
    header = f"{mention + ' ' if mention else ''}*Digest ({escape(rule)}): {len(views)} new event(s)*"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=header))]
    lines = []
    for view in views[:DIGEST_MAX_STORIES]:
        kinds = " + ".join(LABEL_NAMES.get(label, label) for label in view.labels)
        details = "  ·  ".join(_fields_line(view.entities))
        outlets = ", ".join(escape(o) for o in view.outlets[:5])
        line = f"• {link(view.url, _clip(view.title, 300))} — _{kinds}_" + (f"\n{details}" if details else "")
        line += f"\n_{outlets}_" if outlets else ""
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(line, SECTION_LIMIT))))
        lines.append(f"• {escape(_clip(view.title, 200))}")
    text = _clip(f"Digest ({escape(rule)}): {len(views)} new event(s)\n" + "\n".join(lines), 3900)
    return Message(text=text, blocks=[block.to_dict() for block in blocks])
