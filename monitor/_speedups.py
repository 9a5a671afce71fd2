"""Compiled copies of the pure, CPU-heavy modules (mypyc): used only while they match the sources beside them.

Why: `pip install` compiles these modules with mypyc when a C compiler is at hand (see setup.py): the same
typed source as C extension modules, about 1.6x faster on the classifier, identical results. The sources stay
the reference and the fallback (no compiler, MONITOR_PURE_PYTHON=1, or a build that failed).

An editable install leaves the compiled files beside the sources, and Python prefers a compiled module to its
.py file: after an edit or a `git pull` the stale compiled copy would run instead of the new code, silently.
So when the package is imported it checks that every compiled module was built from the source now beside
it (SHA-256 digests the build writes to a manifest); if any is not, or MONITOR_PURE_PYTHON=1 is set, all of
them are imported from their sources (all, because compiled modules call each other directly) and a stale
build is reported once with the command that rebuilds it. The decision is handed down to child processes
(the parse workers are spawned, and re-spawned after a crash) through MONITOR_INHERITED_MODULES: an object
pickled by a compiled class cannot be unpickled by its pure-Python twin (nor the reverse), so a worker must
run what its parent runs even if a source was edited in between. This file imports nothing from the
package, so setup.py can read the module list from it.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

PACKAGE = "monitor"
# Pure modules (no database, no network) where a poll and a backfill spend their CPU. Not grouping and parse:
# their StoryFingerprint and ParsedFeed travel from the parse workers by pickle, which cannot restore a
# compiled frozen dataclass, and mypyc ignores functools.cached_property (StoryFingerprint.keys would be
# recomputed on every use). The text work of a fingerprint lives in story_text, which is compiled.
COMPILED_MODULES = (
    "classify",
    "vocabulary",
    "money",
    "text",
    "regexes",
    "urls",
    "fastparse",
    "story_text",
)
MANIFEST = "_compiled_sources.json"  # {module: SHA-256 of the source it was compiled from}, written by setup.py
PURE_PYTHON_ENV = "MONITOR_PURE_PYTHON"
INHERITED_ENV = "MONITOR_INHERITED_MODULES"  # "compiled" or "sources": what the parent process runs
REBUILD_HINT = "`pip install -e .` (or `pip install .`) recompiles them"


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_digests(folder: Path, names: Iterable[str] = COMPILED_MODULES) -> dict[str, str]:
    """What setup.py writes to the manifest: each module's source digest."""
    return {name: source_digest(folder / f"{name}.py") for name in names}


def compiled_files(folder: Path) -> list[str]:
    """The modules of the package in `folder` that have a compiled file beside their source (any module: a
    file left from a build that compiled more modules counts too)."""
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    return sorted(
        source.stem
        for source in folder.glob("*.py")
        if any((folder / f"{source.stem}{suffix}").exists() for suffix in suffixes)
    )


def stale_modules(compiled: Sequence[str], manifest: Mapping[str, str], digests: Mapping[str, str]) -> list[str]:
    """Compiled modules whose source changed since the build (or that the manifest does not know)."""
    return [name for name in compiled if manifest.get(name) is None or manifest[name] != digests.get(name)]


class _SourcesFirst:
    """A meta-path finder that imports the named modules from their .py files, never from compiled ones."""

    def __init__(self, folder: Path, names: Iterable[str]) -> None:
        self.sources = {f"{PACKAGE}.{name}": folder / f"{name}.py" for name in names}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


def decide(folder: Path, environ: Mapping[str, str]) -> tuple[str, bool]:
    """How the package in `folder` should run, and whether its sources must be imported instead of compiled files.

    "compiled", "pure Python" (nothing compiled), "pure Python (MONITOR_PURE_PYTHON=1)" or
    "pure Python (stale compiled modules: ...)".
    """
    compiled = compiled_files(folder)
    if not compiled:
        return "pure Python", False
    if environ.get(PURE_PYTHON_ENV, "").strip() in {"1", "true", "yes"}:
        return f"pure Python ({PURE_PYTHON_ENV}=1)", True
    inherited = environ.get(INHERITED_ENV)
    if inherited == "compiled":
        return "compiled", False
    if inherited == "sources":
        return "pure Python (as the parent process)", True
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    stale = stale_modules(compiled, manifest, source_digests(folder, compiled))
    if stale:
        return f"pure Python (stale compiled modules: {', '.join(stale)})", True
    return "compiled", False


def choose(folder: Path, environ: MutableMapping[str, str] = os.environ) -> str:
    """Called once, when the package is imported: acts on decide() and says how the package runs."""
    runs_as, use_sources = decide(folder, environ)
    if use_sources:
        sys.meta_path.insert(0, _SourcesFirst(folder, {*COMPILED_MODULES, *compiled_files(folder)}))
    if runs_as != "pure Python":  # compiled files exist: child processes must run what this one runs
        environ[INHERITED_ENV] = "sources" if use_sources else "compiled"
    if runs_as.startswith("pure Python (stale"):
        warnings.warn(f"{runs_as}: running the sources; {REBUILD_HINT}", RuntimeWarning, stacklevel=2)
    return runs_as
