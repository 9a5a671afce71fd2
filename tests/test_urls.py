"""Canonical links: spellings of one article compare equal, different articles do not."""

from __future__ import annotations

import pytest

from monitor.urls import canonical_url, outlet

BASE = "https://pharmadaily.example/news/acme-bio-signs-deal-4411"


@pytest.mark.parametrize(
    "variant",
    [
        "http://pharmadaily.example/news/acme-bio-signs-deal-4411",
        "https://WWW.PharmaDaily.example/news/acme-bio-signs-deal-4411/",
        "https://m.pharmadaily.example/news/acme-bio-signs-deal-4411",
        "https://mobile.pharmadaily.example/news/acme-bio-signs-deal-4411",
        "https://amp.pharmadaily.example/news/acme-bio-signs-deal-4411",
        "https://pharmadaily.example/amp/news/acme-bio-signs-deal-4411",
        "https://pharmadaily.example/news/acme-bio-signs-deal-4411/amp",
        "https://pharmadaily.example/news/acme-bio-signs-deal-4411?outputType=amp",
        "https://pharmadaily.example/news/acme-bio-signs-deal-4411?utm_source=rss&utm_medium=feed#comments",
        "https://pharmadaily.example:443/news/acme-bio-signs-deal-4411?fbclid=abc",
        "  https://pharmadaily.example./news/acme-bio-signs-deal-4411  ",
    ],
)
def test_variants_of_one_article_are_equal(variant: str) -> None:
    assert canonical_url(variant) == canonical_url(BASE)


def test_meaningful_query_is_kept_and_sorted() -> None:
    a = canonical_url("https://kbn.example/news/articleViewAmp.html?idxno=2906&utm_campaign=x")
    b = canonical_url("https://www.kbn.example/news/articleView.html?idxno=2906")
    assert a == b == "https://kbn.example/news/articleView.html?idxno=2906"
    assert canonical_url("https://x.example/view?b=2&a=1") == canonical_url("https://x.example/view?a=1&b=2")
    assert canonical_url("https://x.example/view?id=1") != canonical_url("https://x.example/view?id=2")


def test_different_paths_differ() -> None:
    assert canonical_url(BASE) != canonical_url(BASE.replace("4411", "4412"))


def test_raw_guid_is_left_alone() -> None:
    assert canonical_url(" 20210209000915 ") == "20210209000915"
    assert canonical_url("tag:wire.example,2024:release/77") == "tag:wire.example,2024:release/77"


def test_wire_mobile_host_and_outlet() -> None:
    assert canonical_url("https://m-en.wire.example/view/AEN1") == "https://en.wire.example/view/AEN1"
    assert outlet("https://www.pharmadaily.example/a") == "pharmadaily.example"
    assert outlet("https://m.pharmadaily.example/a") == "pharmadaily.example"
    assert outlet(None) == ""
