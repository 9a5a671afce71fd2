"""Bad configuration (catalogue rows C01–C10): every problem is a ConfigError naming file, line and field;
nothing is executed, no secret is echoed, and the CLI exits 1 instead of running with a guess.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitor.config import load_feeds
from monitor.errors import ConfigError
from tests.test_config import rule_problems
from tests.workspace import Workspace


def feed_problems(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "feeds.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_feeds(path)
    return info.value.problems


GOOD = "feeds:\n  - name: wire\n    url: https://wire.example/rss\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("feeds:\n\t- name: wire\n", 2),  # tab indentation
        ("feeds:\n  - name: 'wire\n    url: https://x.example\n", 2),  # unclosed quote
        ("feeds:\n  - name: wire\n   url: https://x.example\n", 3),  # bad indent
    ],
    ids=["tab", "unclosed-quote", "bad-indent"],
)
def test_C01_syntax_errors_name_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    """C01: tab indentation, an unclosed quote, a bad indent -> `feeds.yaml:<line>: invalid YAML`."""
    (problem,) = feed_problems(tmp_path, text)
    assert "feeds.yaml:" in problem and "invalid YAML" in problem
    assert f"feeds.yaml:{line}:" in problem or f"line {line}" in problem, problem


def test_C02_duplicate_keys_and_duplicate_feeds_are_rejected(tmp_path: Path) -> None:
    """C02: `url:` twice in one mapping (PyYAML would silently keep the last) and two feeds with the same
    name or URL are all reported."""
    dup_key = "feeds:\n  - name: a\n    url: https://a.example/rss\n    url: https://b.example/rss\n"
    assert any("feeds.yaml:4" in p and "duplicate key 'url'" in p for p in feed_problems(tmp_path, dup_key))
    dup_feed = GOOD + "  - name: Wire\n    url: https://wire.example/rss/\n"
    problems = feed_problems(tmp_path, dup_feed)
    assert any("already used" in p for p in problems) and any("already the feed" in p for p in problems)


def test_C03_unknown_keys_are_named(tmp_path: Path) -> None:
    """C03: typo keys `inteval:` and `chanel:` -> "unknown key" naming each, with the allowed keys."""
    problems = feed_problems(tmp_path, GOOD + "    inteval: 15m\n    chanel: '#x'\n")
    assert any("feeds[0].inteval: unknown key" in p for p in problems)
    assert any("feeds[0].chanel: unknown key" in p for p in problems)


@pytest.mark.parametrize(
    ("line", "kind"),
    [("name: no", "a boolean"), ("name: NO", "a boolean"), ("name: 1.10", "a number"), ("name: on", "a boolean"),
     ("name: 2024-01-01", "a date"), ("enabled: yes", "expected true or false")],
)  # fmt: skip
def test_C04_yaml_11_coercions_are_refused(tmp_path: Path, line: str, kind: str) -> None:
    """C04: `no`, `NO`, `on`, `1.10`, dates where text is expected, and `yes` for a boolean: refused,
    asking to quote, instead of silently becoming False / 1.1 / a date."""
    text = "feeds:\n  - name: wire\n    url: https://wire.example/rss\n".replace("name: wire", line)
    if not line.startswith("name"):
        text = GOOD + f"    {line}\n"
    assert any(kind in p for p in feed_problems(tmp_path, text))


def test_C05_python_tags_are_refused_and_nothing_runs(tmp_path: Path) -> None:
    """C05: `!!python/object/apply:os.system [...]` -> ConfigError; the command never runs."""
    marker = tmp_path / "pwned"
    text = f"feeds: !!python/object/apply:os.system ['touch {marker}']\n"
    problems = feed_problems(tmp_path, text)
    assert problems and not marker.exists()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://x.example/f", "gopher://x.example/", "javascript:alert(1)", "https:///nohost"]
)
def test_C06_non_http_feed_urls_are_rejected_at_load(tmp_path: Path, url: str) -> None:
    """C06: file/ftp/gopher/javascript URLs and URLs without a host are refused when the file loads
    (loopback/private hosts are refused at connect time: test_http_faults H02)."""
    problems = feed_problems(tmp_path, GOOD.replace("https://wire.example/rss", f"'{url}'"))
    assert any("feeds.yaml:3: feeds[0].url" in p for p in problems)


def test_C06_C09_credentials_in_feed_urls_are_refused_and_not_echoed(tmp_path: Path) -> None:
    """C06/C09: `https://user:s3cret@host/` was accepted (and shown in logs); fixed in config.py: refused,
    and the error message does not contain the password."""
    problems = feed_problems(tmp_path, GOOD.replace("https://", "https://user:s3cret@"))
    assert any("user name or password" in p for p in problems)
    assert not any("s3cret" in p for p in problems)


@pytest.mark.parametrize("interval", ["0", "'-5m'", "1s", "10y", "15", "48h", "4m"])
def test_C07_intervals_out_of_bounds_or_without_unit_are_refused(tmp_path: Path, interval: str) -> None:
    """C07: interval 0, -5m, 1s, 10y, 15 (no unit), 48h, 4m -> refused (bounds 5 min – 24 h, unit required)."""
    problems = feed_problems(tmp_path, GOOD + f"    interval: {interval}\n")
    assert any("feeds[0].interval" in p for p in problems)


def test_C08_empty_file_and_missing_feeds_are_explicit_errors(tmp_path: Path) -> None:
    """C08: an empty file and a file without `feeds:` are explicit errors, not "0 feeds" silently."""
    assert any("empty" in p for p in feed_problems(tmp_path, ""))
    assert any("feeds: missing" in p for p in feed_problems(tmp_path, "defaults:\n  interval: 15m\n"))


def test_C08_yaml_alias_bomb_and_huge_file_fail_fast(tmp_path: Path) -> None:
    """C08: an anchor/alias "billion laughs" (9^8 nodes if expanded) is reported in bounded time without
    expanding; a 5 MB file is refused at once as too large (it took 5 s of YAML parsing: size cap added in
    yamlconf.py); 1,000 feeds still load quickly."""
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for n, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[n]
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.monotonic()
    problems = feed_problems(tmp_path, "\n".join(levels) + "\nfeeds: [*h, *h]\n")
    assert problems and time.monotonic() - started < 3
    big = GOOD + "".join(f"# padding line {n} {'x' * 90}\n" for n in range(50_000))
    started = time.monotonic()
    problems = feed_problems(tmp_path, big)
    assert any("too large" in p for p in problems) and time.monotonic() - started < 1
    thousand = "feeds:\n" + "".join(f"  - name: f{n}\n    url: https://f{n}.example/rss\n" for n in range(1000))
    started = time.monotonic()
    assert len(load_feeds(_write(tmp_path / "many.yaml", thousand))) == 1000 and time.monotonic() - started < 3


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "field", ["webhook_env: 'https://hooks.slack.com/services/T1/B2/SECRETXYZ'", "webhook_env: xoxb-1234-SECRETXYZ",
              "channel: xoxb-1234-SECRETXYZ"],
)  # fmt: skip
def test_C09_secrets_in_rule_files_are_refused_and_never_echoed(tmp_path: Path, field: str) -> None:
    """C09: a webhook URL or bot token pasted into a rule is refused with a message pointing to
    environment variables, and the secret itself is never printed (it was echoed; a token was even
    accepted as a channel name. Fixed in rules.py)."""
    problems = rule_problems(tmp_path, f"name: r\nevents: [cdmo_contract]\n{field}\n")
    assert any("environment variable" in p for p in problems)
    assert not any("SECRETXYZ" in p for p in problems)


def test_C10_bom_and_crlf_are_accepted_non_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """C10: a UTF-8 BOM and CRLF line endings load fine; a Latin-1 file is a clear "cannot read" error."""
    specs = load_feeds(_write_bytes(tmp_path / "bom.yaml", b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()))
    assert [s.name for s in specs] == ["wire"]
    problems = feed_problems(tmp_path, GOOD.replace("wire\n", "caf\xe9\n", 1).encode("latin-1"))
    assert any("feeds.yaml" in p and "cannot read" in p for p in problems)


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_C01_cli_refuses_to_run_with_invalid_config(workspace: Workspace) -> None:
    """C01 (process level): `monitor poll` with a broken feeds.yaml exits 1 naming file and line, and
    creates no database rows (nothing runs on a guess)."""
    (workspace.root / "feeds.yaml").write_text(
        "feeds:\n  - name: wire\n    url: 'https://x.example\n", encoding="utf-8"
    )
    result = workspace.run("poll")
    assert result.returncode == 1 and "feeds.yaml:" in result.stderr
    assert not Path(workspace.env["MONITOR_DB"]).exists() or workspace.db().count("item") == 0
