"""feeds.yaml and alerts/ validation: every problem names file, line and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_feeds, parse_interval
from monitor.errors import ConfigError
from monitor.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "feeds.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_feeds(path)
    return info.value.problems


def test_shipped_configuration_is_valid() -> None:
    feeds = load_feeds(ROOT / "feeds.yaml")
    assert 12 <= len(feeds) <= 15
    assert all(f.url.startswith("https://") for f in feeds)
    assert {f.timezone for f in feeds if "korea" in f.tags} >= {"Asia/Seoul"}
    rules = load_rules(ROOT / "alerts")
    assert [r.name for r in rules] == ["all-cdmo-events"]


def test_defaults_apply_and_feed_values_override(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults: {interval: 1h, timezone: Asia/Seoul}\n"
        "feeds:\n"
        "  - {name: a, url: 'https://a.example/rss'}\n"
        "  - {name: b, url: 'https://b.example/rss', interval: 15m, timezone: UTC, enabled: false, tags: [x, y]}\n",
    )
    a, b = load_feeds(path)
    assert (a.interval, a.timezone, a.enabled, a.tags) == (timedelta(hours=1), "Asia/Seoul", True, ())
    assert (b.interval, b.timezone, b.enabled, b.tags) == (timedelta(minutes=15), "UTC", False, ("x", "y"))


@pytest.mark.parametrize(
    ("text", "interval"),
    [("15m", timedelta(minutes=15)), ("1h", timedelta(hours=1)), ("1h30m", timedelta(minutes=90)), ("bad", None)],
)
def test_parse_interval(text: str, interval: timedelta | None) -> None:
    assert parse_interval(text) == interval


@pytest.mark.parametrize(
    ("entry", "line", "fragment"),
    [
        ("{name: a, url: 'ftp://a.example/rss'}", 3, "feeds[0].url: 'ftp://a.example/rss' is not an http or https URL"),
        ("{name: a, url: 'https://a.example/rss', interval: 2m}", 3, "feeds[0].interval: 2m is outside"),
        ("{name: a, url: 'https://a.example/rss', interval: 25h}", 3, "feeds[0].interval: 25h is outside"),
        ("{name: a, url: 'https://a.example/rss', interval: 15}", 3, "has no unit"),
        ("{name: a, url: 'https://a.example/rss', colour: red}", 3, "feeds[0].colour: unknown key"),
        ("{name: no, url: 'https://a.example/rss'}", 3, "feeds[0].name: 'no' would be read as a boolean"),
        ("{name: a, url: 'https://a.example/rss', enabled: yes}", 3, "feeds[0].enabled: expected true or false"),
        ("{name: a, url: 'https://a.example/rss', tags: [on]}", 3, "feeds[0].tags[0]: 'on' would be read as a boolean"),
        ("{name: 2024-01-01, url: 'https://a.example/rss'}", 3, "would be read as a date"),
        ("{name: a, url: 'https://a.example/rss', timezone: Mars/Olympus}", 3, "unknown time zone"),
        ("{url: 'https://a.example/rss'}", 3, "name: missing"),
    ],
)
def test_bad_feed_entries_are_refused_with_file_line_and_field(
    tmp_path: Path, entry: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, f"# comment\nfeeds:\n  - {entry}\n")
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:{line}:") and fragment in p for p in problems), problems


def test_duplicate_names_and_urls_name_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n"
        "  - {name: a, url: 'https://a.example/rss'}\n"
        "  - {name: A, url: 'https://b.example/rss'}\n"
        "  - {name: c, url: 'https://a.example/rss/'}\n",
    )
    problems = problems_of(path)
    assert f"{path}:3: name: 'A' is already used on line 2" in problems
    assert any(p.startswith(f"{path}:4: url:") and "already the feed 'a'" in p for p in problems)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - name: a\n    url: [unclosed\n")
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:") and "invalid YAML" in problems[0]


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - name: a\n    name: b\n    url: 'https://a.example/rss'\n")
    assert any("duplicate key 'name'" in p for p in problems_of(path))


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - {name: a, url: 'gopher://x'}\n  - {name: b, url: 'https://b', interval: 1m}\n")
    assert len(problems_of(path)) == 2


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert "file not found" in problems_of(tmp_path / "absent.yaml")[0]
    assert "empty" in problems_of(write(tmp_path, "# nothing\n"))[0]


# -- alert rules ------------------------------------------------------------------------------------


def test_a_missing_rules_folder_is_named_with_how_to_name_another(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path / "no-such-folder")
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'no-such-folder'}: alert rules folder not found")
    assert "--alerts" in problem and "MONITOR_ALERTS" in problem


def rule_problems(tmp_path: Path, text: str) -> list[str]:
    folder = tmp_path / "alerts"
    folder.mkdir(exist_ok=True)
    (folder / "rule.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(folder)
    return info.value.problems


def test_rule_needs_exactly_one_destination(tmp_path: Path) -> None:
    assert any("destination missing" in p for p in rule_problems(tmp_path, "name: r\nevents: [cdmo_contract]\n"))
    both = "name: r\nevents: [cdmo_contract]\nchannel: '#x'\nwebhook_env: HOOK\n"
    assert any("not both" in p for p in rule_problems(tmp_path, both))


def test_rule_refuses_unknown_events_and_webhook_urls(tmp_path: Path) -> None:
    problems = rule_problems(tmp_path, "name: r\nevents: [ipo]\nwebhook_env: 'https://hooks.slack.com/x'\n")
    assert any("rule.yaml:2: events: unknown event 'ipo'" in p for p in problems)
    assert any("webhook_env" in p and "not an environment variable name" in p for p in problems)


def test_rule_mention_must_be_a_known_form(tmp_path: Path) -> None:
    problems = rule_problems(tmp_path, "name: r\nevents: [plant_milestone]\nchannel: '#x'\nmention: everyone\n")
    assert any("rule.yaml:4: mention:" in p for p in problems)


def test_valid_rule_with_filters(tmp_path: Path) -> None:
    folder = tmp_path / "alerts"
    folder.mkdir()
    (folder / "big.yaml").write_text(
        "name: big\nevents: [cdmo_contract]\nwebhook_env: HOOK_BIG\ncompanies: [Lonza]\n"
        "min_value_usd: 1_000_000\nmention: '@here'\n",
        encoding="utf-8",
    )
    (rule,) = load_rules(folder)
    assert (rule.webhook_env, rule.companies, rule.min_value_usd, rule.mention) == (
        "HOOK_BIG",
        ("Lonza",),
        1e6,
        "@here",
    )
    assert rule.destination == "webhook:HOOK_BIG"
