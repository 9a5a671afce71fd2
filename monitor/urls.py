"""Canonical links: one spelling per article, so the same article from two feeds is one item.

Feeds spell one article's link in many ways: tracking parameters (`utm_*`, `fbclid`), fragments,
`http` vs `https`, `www.`/`m.`/`mobile.`/`amp.` hosts, AMP paths (`/amp/...`, `?outputType=amp`,
ND Soft's `articleViewAmp.html`), trailing slashes and case noise in the host. `canonical_url` folds
all of these into one string, so that comparing two links is a string comparison and the result
can be stored and indexed. Non-URL guids (bare numbers, `tag:` URIs) are returned unchanged apart
from surrounding whitespace: they are identifiers, not links, and must not be resolved.

Pure functions; no network.
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


def _host(hostname: str) -> str:
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


def _path(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    segments = [s for s in segments if s.lower() not in _AMP_SEGMENTS]
    if segments:
        last = re.sub(r"(?i)\.amp(?=\.html?$)|\.amp$", "", segments[-1])
        segments[-1] = re.sub(r"(?i)articleviewamp", "articleView", last)
    return "/" + "/".join(segments)


def _keep_param(key: str, value: str) -> bool:
    k = key.lower()
    if k in _AMP_SWITCHES:
        return value.lower() not in _AMP_VALUES
    return not k.startswith(_TRACKING_PREFIXES) and k not in _TRACKING_KEYS


def canonical_url(url: str) -> str:
    """Return one spelling of `url`: https, bare lower-case host, no AMP, tracking or fragment.

    Strings that are not http(s) links (raw guids) come back stripped but otherwise unchanged.
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return text
    host = _host(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _keep_param(k, v))
    return urlunsplit(("https", netloc, _path(parts.path), urlencode(query), ""))


def outlet(url: str | None) -> str:
    """The publishing outlet of a link: its host without `www.`, `m.`, `amp.` or `mobile.`."""
    if not url:
        return ""
    return _host(urlsplit(url.strip()).hostname or "")


def clean_url(url: str) -> str:
    """The link as published, minus tracking parameters and fragment: what an alert links to.

    Unlike `canonical_url` it keeps the scheme, host and path as the publisher wrote them, since a
    folded host (`koreaherald.com` for `www.koreaherald.com`) need not serve the page.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _keep_param(k, v)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))
