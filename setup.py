"""Build: the pure-Python package, plus mypyc-compiled copies of its CPU-heavy pure modules when possible.

Why mypyc: the classifier (with its vocabulary and amount parsing), link canonicalisation, the fast feed
parser and the text side of story fingerprints are typed (mypy --strict) pure Python, and the speed targets
are out of reach for the interpreter here. mypyc, the compiler the mypy project maintains (black and mypy
ship compiled with it), turns the same source into C extension modules (about 1.6x faster on the classifier)
without a second implementation to keep in step. Everything else is declared in pyproject.toml.

Compiling is optional: without a C compiler, with MONITOR_PURE_PYTHON=1, or when the build fails, the package
installs as pure Python (same results, slower) and says so. The build writes the SHA-256 of each compiled
module's source to a manifest, so a later edit of a source is noticed at import (monitor/_speedups.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _speedups() -> Any:
    """monitor/_speedups.py on its own (importing the package here would run its import-time check)."""
    spec = importlib.util.spec_from_file_location("_monitor_speedups", ROOT / "monitor" / "_speedups.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SPEEDUPS = _speedups()


def _say(message: str) -> None:
    print(f"monitor: {message}", file=sys.stderr)


def _mypy_config() -> str:
    """A config of its own for the build: the project's strict settings need stubs and plugins a build lacks."""
    handle, path = tempfile.mkstemp(prefix="monitor-mypyc-", suffix=".ini")
    with os.fdopen(handle, "w") as config:
        config.write("[mypy]\nignore_missing_imports = True\n")
    return path


def _extensions() -> list[Any]:
    extensions = _compiled_extensions()
    if not extensions:  # build_ext will not run: drop an earlier editable build's files beside the sources here
        _remove_compiled(ROOT / "monitor", keep=())
    return extensions


def _compiled_extensions() -> list[Any]:
    if os.environ.get(SPEEDUPS.PURE_PYTHON_ENV, "").strip() in {"1", "true", "yes"}:
        _say(f"{SPEEDUPS.PURE_PYTHON_ENV}=1: installing the pure-Python modules only")
        return []
    if platform.python_implementation() != "CPython":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not available: installing the pure-Python modules only (same results, slower)")
        return []
    paths = [f"monitor/{name}.py" for name in SPEEDUPS.COMPILED_MODULES]
    config = _mypy_config()
    try:
        return list(mypycify(["--config-file", config, *paths], group_name="monitor"))
    except (Exception, SystemExit) as exc:  # mypyc reports type errors by exiting
        _say(f"mypyc could not compile the modules ({exc!r}): installing the pure-Python modules only")
        return []
    finally:
        os.unlink(config)


def _remove_compiled(folder: Path, keep: tuple[str, ...]) -> None:
    """Delete the compiled files in `folder` of modules not in `keep` (and the manifest when none is kept)."""
    for name in SPEEDUPS.compiled_files(folder):
        if name not in keep:
            for suffix in EXTENSION_SUFFIXES:
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
    if not keep:
        (folder / SPEEDUPS.MANIFEST).unlink(missing_ok=True)


class BuildExtOrPurePython(build_ext):
    """Compile the extensions if the machine can; otherwise leave no trace and install pure Python."""

    def run(self) -> None:
        folder = Path(self.get_ext_fullpath("monitor.classify")).parent
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, a compile error: all mean "pure Python"
            _remove_compiled(folder, keep=())
            _say(f"compiling the speed-ups failed ({exc}): installing the pure-Python modules only")
            return
        # an editable install builds beside the sources: drop what an earlier build compiled and this one did not
        _remove_compiled(folder, keep=SPEEDUPS.COMPILED_MODULES if self.extensions else ())
        if self.extensions:
            digests = SPEEDUPS.source_digests(ROOT / "monitor")
            (folder / SPEEDUPS.MANIFEST).write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtOrPurePython})
