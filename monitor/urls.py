"""Canonical links: one spelling per article, so the same article from two feeds is one item.

Feeds spell one article's link in many ways: tracking parameters (`utm_*`, `fbclid`), fragments,
`http` vs `https`, `www.`/`m.`/`mobile.`/`amp.` hosts, AMP paths (`/amp/...`, `?outputType=amp`,
ND Soft's `articleViewAmp.html`), trailing slashes and case noise in the host. `canonical_url` folds
all of these into one string, so that comparing two links is a string comparison and the result
can be stored and indexed. Non-URL guids (bare numbers, `tag:` URIs) are returned unchanged apart
from surrounding whitespace: they are identifiers, not links, and must not be resolved.

Pure functions; no network.

Nearly every feed link is a plain `http(s)://host/path?query`: those are split with str methods (see
`_split_plain`), which give exactly what `urllib.parse` gives in a fraction of its time (urllib is pure
Python; reading links was about a tenth of a parse worker's instructions per item); every other string
still goes through urllib. tests/test_urls.py compares both ways on generated links and arbitrary text.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs", "vero_", "ga_")
_TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "oc",
        "ref",
        "cmpid",
        "mkt_tok",
        "s_cid",
        "ncid",
        "sr_share",
        "spm",
        "_ga",
        "ito",
        "smid",
        "wt.mc_id",
        "rss",
    }
)
# Values of the AMP switches we drop; other values of `output`/`amp` keep the parameter.
_AMP_VALUES = frozenset({"amp", "1", "true", ""})
_AMP_SWITCHES = frozenset({"outputtype", "amp", "output"})
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.", "www2.")
_YONHAP_MOBILE = re.compile(r"^m-(?=[a-z]{2}\.)")  # m-en.yna.co.kr -> en.yna.co.kr
_AMP_SEGMENTS = frozenset({"amp", "amp.html"})
_AMP_SUFFIX = re.compile(r"(?i)\.amp(?=\.html?$)|\.amp$")  # article.amp.html -> article.html
_AMP_VIEW = re.compile(r"(?i)articleviewamp")  # ND Soft's AMP page -> articleView
# A query that parse_qsl and urlencode give back unchanged: fields of ASCII letters, digits and `_.~-`,
# split by `&`, each with at most one `=` (neither unquotes nor quotes anything in it).
_PLAIN_HOST = re.compile(r"[A-Za-z0-9._-]+")  # a host name with no userinfo, port, brackets, escapes or spaces
_PLAIN_QUERY = re.compile(r"[\w.~-]*(?:=[\w.~-]*)?(?:&[\w.~-]*(?:=[\w.~-]*)?)*", re.ASCII)


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    if host.startswith("m-"):  # the only strings the pattern can change: skip the regex call for the others
        host = _YONHAP_MOBILE.sub("", host)
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix) :]
                changed = True
    return host


def _path(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    segments = [s for s in segments if s.lower() not in _AMP_SEGMENTS]
    if segments and "amp" in segments[-1].lower():  # both patterns match only where it says `amp`
        last = _AMP_SUFFIX.sub("", segments[-1])
        segments[-1] = _AMP_VIEW.sub("articleView", last)
    return "/" + "/".join(segments)


def _keep_param(key: str, value: str) -> bool:
    k = key.lower()
    if k in _AMP_SWITCHES:
        return value.lower() not in _AMP_VALUES
    return not k.startswith(_TRACKING_PREFIXES) and k not in _TRACKING_KEYS


def _query(query: str, sort: bool) -> str:
    """`urlencode` of the `parse_qsl(query, keep_blank_values=True)` pairs worth keeping, sorted if `sort`.

    A plain query (`_PLAIN_QUERY`) reads and writes back unchanged, so it is split and joined with str
    methods; pairs compare the same as their decoded forms because they are their decoded forms.
    """
    if _PLAIN_QUERY.fullmatch(query):
        pairs: list[tuple[str, str]] = []
        for field in query.split("&"):
            if field:  # parse_qsl skips empty fields and reads `key` as ("key", "")
                key, _, value = field.partition("=")
                if _keep_param(key, value):
                    pairs.append((key, value))
        if sort:
            pairs.sort()
        return "&".join([key + "=" + value for key, value in pairs])
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if _keep_param(k, v)]
    return urlencode(sorted(pairs) if sort else pairs)


def _split_plain(text: str) -> tuple[str, str, str, str] | None:
    """`(scheme, netloc, path, query)` of a plain http(s) link, exactly as `urlsplit` gives them; else None.

    Plain: a lower-case `http://` or `https://` prefix, no tab, CR or LF anywhere (urlsplit deletes them), and a
    host of ASCII letters, digits, `.`, `_` and `-` only (no userinfo, port, IPv6 brackets or zone, which urlsplit
    checks or `hostname`/`port` read apart; no non-ASCII host, some of which it rejects; no space, which a
    stripped join would drop). For such a string
    urlsplit's netloc is the text up to the first `/`, `?` or `#`, its fragment whatever follows the first `#`,
    its query what lies between the first `?` before that and it, its path the rest, and `hostname` is the
    netloc in lower case with no port. Anything else is None and goes to urllib.
    """
    if text.startswith("https://"):
        scheme, start = "https", 8
    elif text.startswith("http://"):
        scheme, start = "http", 7
    else:
        return None
    if "\t" in text or "\r" in text or "\n" in text:
        return None
    end = len(text)
    for delimiter in ("/", "?", "#"):
        found = text.find(delimiter, start)
        if 0 <= found < end:
            end = found
    netloc = text[start:end]
    if _PLAIN_HOST.fullmatch(netloc) is None:  # not even a space: urllib and clean_url treat those apart
        return None
    rest = text[end:].partition("#")[0]
    path, _, query = rest.partition("?")
    return scheme, netloc, path, query


def canonical_url(url: str) -> str:
    """Return one spelling of `url`: https, bare lower-case host, no AMP, tracking or fragment.

    Strings that are not http(s) links (raw guids) come back stripped but otherwise unchanged.
    """
    text = url.strip()
    plain = _split_plain(text)
    if plain is not None:  # what urlunsplit makes of the parts below (the path always starts with `/`)
        _, netloc, path, query = plain
        kept = _query(query, sort=True)
        return "https://" + _host(netloc.lower()) + _path(path) + ("?" + kept if kept else "")
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return text
    host = _host(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    return urlunsplit(("https", netloc, _path(parts.path), _query(parts.query, sort=True), ""))


def outlet(url: str | None) -> str:
    """The publishing outlet of a link: its host without `www.`, `m.`, `amp.` or `mobile.`."""
    if not url:
        return ""
    text = url.strip()
    plain = _split_plain(text)
    if plain is not None:
        return _host(plain[1].lower())
    return _host(urlsplit(text).hostname or "")


def clean_url(url: str) -> str:
    """The link as published, minus tracking parameters and fragment: what an alert links to.

    Unlike `canonical_url` it keeps the scheme, host and path as the publisher wrote them, since a
    folded host (`koreaherald.com` for `www.koreaherald.com`) need not serve the page.
    """
    text = url.strip()
    plain = _split_plain(text)
    if plain is not None:
        return _clean_plain(plain)
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return text
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", _query(parts.query, False), ""))


def clean_joined_link(base: str, href: str) -> str | None:
    """`clean_url(urljoin(base, href))` when `href` is a plain absolute http(s) link, without the urljoin; else None.

    Why it is the same: urljoin returns such a link unchanged when its scheme differs from the base's, and
    otherwise rebuilt from urlparse's parts, which differs from it only by dropping an empty `?`, `#` or
    `;params` (a `;` that ends the last path segment). clean_url drops the first two anyway; a path ending in
    `;` is left to urljoin. urljoin also parses the base, which raises ValueError for some bracketed or
    non-ASCII bases: those are left to urljoin too, so the error stays. So is a link with whitespace anywhere:
    clean_url strips the joined link's end, and whitespace before an empty `?` or `#` ends up there once urljoin
    drops them (`https://a.example/ ?`); the parts here would still hold it.
    """
    plain = _split_plain(href)
    if plain is None or plain[2].endswith(";") or " " in href or not href.isprintable():
        return None  # (isprintable is False for every whitespace character but " ")
    if not base.isascii() or "[" in base or "]" in base:
        return None
    return _clean_plain(plain)


def _clean_plain(plain: tuple[str, str, str, str]) -> str:
    """clean_url of a plain link's parts: what urlunsplit makes of them (a non-empty path starts with `/`)."""
    scheme, netloc, path, query = plain
    kept = _query(query, sort=False)
    return scheme + "://" + netloc.lower() + (path or "/") + ("?" + kept if kept else "")
