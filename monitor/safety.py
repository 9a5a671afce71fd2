"""Start-up checks of the XML parser that feedparser will use (robustness.md §2.2, F04).

feedparser parses with `xml.sax.make_parser(["drv_libxml2"])`: libxml2's Python bindings when they are
importable, else Python's Expat. Expat before 2.6.0 may still be vulnerable to "billion laughs",
"quadratic blowup" and "large tokens" (Python docs, "XML security"); libxml2 may not honour the
"no external entities" feature. Neither is fatal (parse.py refuses entity bombs itself), so the CLI
prints these as warnings at start-up.
"""

from __future__ import annotations

import importlib.util
import re

SAFE_EXPAT = (2, 6, 0)


def expat_version() -> tuple[int, int, int] | None:
    """The version of the Expat library pyexpat is linked with, or None when it cannot be read."""
    try:
        import pyexpat
    except ImportError:
        return None
    info = getattr(pyexpat, "version_info", None)
    if isinstance(info, tuple) and len(info) >= 3:
        return (int(info[0]), int(info[1]), int(info[2]))
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", str(getattr(pyexpat, "EXPAT_VERSION", "")))
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_xml_parser(version: tuple[int, int, int] | None = None, libxml2_importable: bool | None = None) -> list[str]:
    """Warnings about the XML parser feeds are parsed with; empty when it is the safe configuration.

    The arguments exist for tests; by default the running interpreter is inspected.
    """
    warnings: list[str] = []
    found = expat_version() if version is None else version
    if found is None:
        warnings.append("cannot determine the Expat version (pyexpat missing?); XML entity limits unknown")
    elif found < SAFE_EXPAT:
        have = ".".join(map(str, found))
        want = ".".join(map(str, SAFE_EXPAT))
        warnings.append(
            f"Python's XML parser is Expat {have}, older than {want}: it may be vulnerable to XML entity "
            f"'large token' attacks (CVE-2023-52425); use a Python built with Expat >= {want}"
        )
    libxml2 = _importable("drv_libxml2") or _importable("libxml2") if libxml2_importable is None else libxml2_importable
    if libxml2:
        warnings.append(
            "libxml2 Python bindings are importable: feedparser prefers them over Expat and they may not honour "
            "'no external entities'; uninstall them (python3-libxml2) from the monitor's environment"
        )
    return warnings
