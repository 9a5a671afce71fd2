"""Canonical links: spellings of one article compare equal, different articles do not."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.parse import _link
from monitor.urls import (
    _AMP_SEGMENTS,
    _HOST_PREFIXES,
    _YONHAP_MOBILE,
    _keep_param,
    _query,
    _split_plain,
    canonical_url,
    clean_joined_link,
    clean_url,
    outlet,
)

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


# ---------------------------------------------------------------------------------------------
# The str-method fast paths give what urllib gives: the original urllib-only code is the oracle.

# unchanged helpers (`_keep_param`, the host prefixes) come from monitor.urls; the rest is the old code


def _host_slow(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    host = _YONHAP_MOBILE.sub("", host)
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix) :]
                changed = True
    return host


def _path_slow(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    segments = [s for s in segments if s.lower() not in _AMP_SEGMENTS]
    if segments:
        last = re.sub(r"(?i)\.amp(?=\.html?$)|\.amp$", "", segments[-1])
        segments[-1] = re.sub(r"(?i)articleviewamp", "articleView", last)
    return "/" + "/".join(segments)


def _canonical_url_slow(url: str) -> str:
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return text
    host = _host_slow(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _keep_param(k, v))
    return urlunsplit(("https", netloc, _path_slow(parts.path), urlencode(query), ""))


def _outlet_slow(url: str | None) -> str:
    if not url:
        return ""
    return _host_slow(urlsplit(url.strip()).hostname or "")


def _clean_url_slow(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _keep_param(k, v)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def _outcome(function: Callable[[], object]) -> object:
    """A result or the exception it raised (type and message), so errors are compared too."""
    try:
        return function()
    except Exception as exc:
        return (type(exc), str(exc))


# fmt: off
_SPACE = st.sampled_from(["", "", "", " ", "  ", "\t", "\n", "\r\n", "\x00", "\x0b", "\x1f", "\xa0", "\u3000"])
_SCHEMES = st.sampled_from(
    ["https://", "http://", "https://", "http://", "HTTP://", "Https://", "//", "ftp://", "http:", "https:///",
    "javascript:", "data:text/html,", "tag:", "mailto:", "", "h ttp://", "http:\\\\", "1http://"]
)
_HOSTS = st.sampled_from(
    ["example.com", "www.example.com", "WWW.Example.COM", "news.example.co.kr", "m.news.example.co.kr",
    "m-en.yna.co.kr", "m-EN.yna.co.kr", "amp.example.com", "mobile.www.example.com", "www2.example.org",
    "example.com.", "www.example", "m.co", "127.0.0.1", "[::1]", "[::1", "::1]", "[v1.x]", "[127.0.0.1]",
    "[fe80::1%eth0]", "a@example.com", "a:b@www.example.com", "@", "例え.jp", "xn--r8jz45g.jp", "bücher.de",
    "ex ample.com", "a%41.com", "EX%Ample.com", "", ".", "..", "-", "exa\tmple.com", "\u2100.com", "ｅｘａｍｐｌｅ.com"]
)
# the hosts of links the fast paths take (and a few they refuse)
_PLAIN_HOSTS = st.sampled_from(
    ["example.com", "www.example.com", "WWW.Example.COM", "m.news.example.co.kr", "m-en.yna.co.kr", "M-en.yna.co.kr",
    "amp.example.com", "www.example", "example.com.", "127.0.0.1", "ex ample.com", "-", ".", "EX%Ample.com",
    "example.com:443", "a@example.com", "[::1]", "例え.jp"]
)
_PORTS = st.sampled_from(["", "", "", ":80", ":443", ":8080", ":", ":abc", ":99999", ":0", ":+1", ":٣"])
_SEGMENTS = st.sampled_from(
    ["news", "article", "2024", "amp", "AMP", "amp.html", "Amp.HTML", "article.amp", "story.amp.html",
    "articleViewAmp.html", "ARTICLEVIEWAMP.htm", "articleView.html", "..", ".", "", "a;b", ";", "x;",
    "%20", "%41", "a+b", "é", "뉴스", " ", "a b", "~user", "index.php", "\u212a", "\u0130", "ampere"]
)
_KEYS = st.sampled_from(
    ["id", "idxno", "p", "utm_source", "UTM_Medium", "outputType", "amp", "output", "fbclid", "ref", "Ref",
    "", "a+b", "%41", "k=v", "a.b", "x-y", "~", "é", "a b", "_ga", "mc_cid", "wt.mc_id", "spm", "s"]
)
_VALUES = st.sampled_from(
    ["", "1", "2906", "amp", "AMP", "true", "rss", "a+b", "%20", "x=y", "é", "b&c", "a b", "~.-_"]
)
_FRAGMENTS = st.sampled_from(["", "", "#", "#top", "#?q=1", "#a#b", "#/amp"])
# fmt: on


@st.composite
def _links(draw: st.DrawFn, plain: bool = False) -> str:
    """Links of the shapes feeds use, and their odd relatives, assembled from parts.

    `plain`: mostly links the fast paths take (lower-case http(s), an ordinary host, no port).
    """
    path = "".join("/" + draw(_SEGMENTS) for _ in range(draw(st.integers(0, 4))))
    path += draw(st.sampled_from(["", "", "/", ";"]))
    fields = [
        draw(_KEYS) + draw(st.sampled_from(["=", "=", ""])) + draw(_VALUES) for _ in range(draw(st.integers(0, 4)))
    ]
    query = "?" + "&".join(fields) if draw(st.booleans()) else ""  # may be a bare `?`
    if plain:
        link = draw(st.sampled_from(["https://", "http://"])) + draw(_PLAIN_HOSTS) + path + query + draw(_FRAGMENTS)
    else:
        link = draw(_SCHEMES) + draw(_HOSTS) + draw(_PORTS) + path + query + draw(_FRAGMENTS)
    if draw(st.integers(0, 9)) == 0:  # a control character somewhere
        at = draw(st.integers(0, len(link)))
        link = link[:at] + draw(st.sampled_from(["\t", "\n", "\r", "\x00", "\x7f"])) + link[at:]
    return draw(_SPACE) + link + draw(_SPACE)


_URL_ALPHABET = "htps:/?#&=;%+@[]-._~ aAmMpP019wW\t\r\n\x00é中\u212a"
_TEXTS = st.one_of(
    _links(),
    _links(plain=True),
    st.text(),
    st.text(alphabet=_URL_ALPHABET),
    st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(["http://", "https://", "https://www.a.b/"]),
        st.text(alphabet=_URL_ALPHABET),
    ),
)
_FAST = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(_TEXTS)
def test_canonical_url_is_what_urllib_gives(text: str) -> None:
    assert _outcome(lambda: canonical_url(text)) == _outcome(lambda: _canonical_url_slow(text))


@_FAST
@given(_TEXTS)
def test_clean_url_is_what_urllib_gives(text: str) -> None:
    assert _outcome(lambda: clean_url(text)) == _outcome(lambda: _clean_url_slow(text))


@_FAST
@given(_TEXTS)
def test_outlet_is_what_urllib_gives(text: str) -> None:
    assert _outcome(lambda: outlet(text)) == _outcome(lambda: _outlet_slow(text))


@_FAST
@given(_TEXTS)
@example("https://EX%Ample.com/")  # hostname lower-cases only what precedes a %
def test_split_plain_is_urlsplit(text: str) -> None:
    plain = _split_plain(text)
    if plain is not None:
        parts = urlsplit(text)
        assert plain == (parts.scheme, parts.netloc, parts.path, parts.query)
        assert (parts.hostname, parts.port) == (plain[1].lower(), None)


_QUERY_ALPHABET = "aAzZ09_.~-=&+% é;"


@_FAST
@given(st.one_of(st.text(alphabet=_QUERY_ALPHABET), st.text()), st.booleans())
def test_query_is_parse_qsl_then_urlencode(query: str, sort: bool) -> None:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if _keep_param(k, v)]
    assert _query(query, sort) == urlencode(sorted(pairs) if sort else pairs)


def test_only_ascii_letters_match_the_amp_patterns_case_blind() -> None:
    """`_path` calls its (?i) patterns only when the last segment says `amp` in lower case: no other character
    matches a, m or p case-blind (Python's re folds K to the Kelvin sign and s to ſ, but not these)."""
    letters = re.compile(r"(?i)[amp]")
    assert [c for c in map(chr, range(0x110000)) if letters.fullmatch(c)] == list("AMPamp")


# ---------------------------------------------------------------------------------------------
# parse._link: urljoin is skipped for plain absolute links


def _joined_link_slow(base: str, href: str) -> str | None:
    """monitor.parse._link after its guid test, as it was: urljoin, http(s) only, clean_url."""
    absolute = urljoin(base, href)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return _clean_url_slow(absolute)


# fmt: off
_BASES = st.one_of(
    st.sampled_from(
        ["https://www.example.com/feed/rss.xml", "http://127.0.0.1:8080/feed/1.xml", "", "HTTPS://EXAMPLE.com/a/b/",
        "https://[::1]/feed", "http://[::1/feed", "http://]/x", "https://例え.jp/feed", "https://\u2100.com/",
        "ftp://files.example/pub/", "http:feed", "feed.xml", "https://a.example/x;y?z#w", "https://a.example"]
    ),
    _links(),
    _links(plain=True),
)
# fmt: on
_HREFS = st.one_of(
    _TEXTS,
    _links(plain=True),
    st.sampled_from(["/news/1", "news/1", "../x", "./", "?id=1", "#top", "//cdn.example/a", "///x", "http:x"]),
)


@_FAST
@given(_BASES, _HREFS)
@example("https://a.example/feed", "https://b.example/x;")  # urljoin drops an empty ;params
@example("https://a.example/feed", "https://b.example/x ")  # urljoin keeps trailing space, clean_url strips it
@example("http://[::1/feed", "https://b.example/x")  # urljoin raises on the base
def test_clean_joined_link_is_urljoin_then_clean_url(base: str, href: str) -> None:
    """When the shortcut answers, it is what parse._link's urljoin, scheme test and clean_url gave."""
    joined = _outcome(lambda: clean_joined_link(base, href))
    if joined is not None:
        assert joined == _outcome(lambda: _joined_link_slow(base, href))


def _link_slow(entry: dict[str, object], final_url: str) -> str | None:
    """monitor.parse._link as it was."""
    href = str(dict.get(entry, "link") or "").strip()
    if not href:
        return None
    if dict.get(entry, "guidislink") and href == str(dict.get(entry, "id") or "").strip() and not urlsplit(href).scheme:
        return None
    return _joined_link_slow(final_url, href)


@_FAST
@given(_BASES, _HREFS, st.booleans())
@example("https://www.example.com/feed/rss.xml", "https:// #", False)  # a space for a host: joined, then stripped
@example("https://www.example.com/feed/rss.xml", "https://0/ ?", False)  # a space left at the end once "?" is dropped
def test_parse_link_is_what_it_was(base: str, href: str, guid_is_link: bool) -> None:
    entry: dict[str, object] = {"link": href, "id": href if guid_is_link else "x", "guidislink": guid_is_link}
    assert _outcome(lambda: _link(entry, base)) == _outcome(lambda: _link_slow(entry, base))


@pytest.mark.parametrize(
    "href",
    [
        "https://news.example.com/articles/1-2",
        "http://www.kbn.example/news/articleView.html?idxno=2906&utm_source=rss#top",
        "https://wire.example.com/news/12?",
    ],
)
def test_common_links_take_the_shortcut(href: str) -> None:
    for base in ("http://127.0.0.1:8080/feed/1.xml", "https://www.example.com/rss", ""):
        assert clean_joined_link(base, href) == _joined_link_slow(base, href)
        assert clean_joined_link(base, href) is not None
    assert _split_plain(href) is not None
