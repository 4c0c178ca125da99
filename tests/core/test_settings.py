"""Settings from PA_* variables: laptop defaults, a secret key made once and kept, and bad values named."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from partner_audit.settings import SettingsError, load_settings


def test_defaults_put_everything_under_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    var = tmp_path / "var"
    assert settings.var_dir == var
    assert settings.database_url == f"sqlite:///{var / 'partner-audit.sqlite3'}"
    assert settings.is_sqlite and not settings.is_s3
    assert settings.evidence_store == str(var / "evidence")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.secure_cookies is False
    assert settings.max_upload_bytes == 250 * 1024 * 1024


def test_var_dir_follows_pa_var_dir(tmp_path: Path) -> None:
    var = tmp_path / "elsewhere"
    settings = load_settings({"PA_VAR_DIR": str(var)})
    assert settings.database_url == f"sqlite:///{var / 'partner-audit.sqlite3'}"
    assert settings.evidence_store == str(var / "evidence")


def test_secret_key_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    env = {"PA_VAR_DIR": str(tmp_path / "var")}
    first = load_settings(env).secret_key
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == first
    assert len(first) >= 32
    assert load_settings(env).secret_key == first


def test_secret_key_differs_between_installations(tmp_path: Path) -> None:
    one = load_settings({"PA_VAR_DIR": str(tmp_path / "one")}).secret_key
    two = load_settings({"PA_VAR_DIR": str(tmp_path / "two")}).secret_key
    assert one != two


def test_a_given_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    key = "k" * 40
    settings = load_settings({"PA_VAR_DIR": str(tmp_path / "var"), "PA_SECRET_KEY": key})
    assert settings.secret_key == key
    assert not (tmp_path / "var" / "secret_key").exists()


def test_postgres_and_s3_are_accepted(tmp_path: Path) -> None:
    settings = load_settings({
        "PA_VAR_DIR": str(tmp_path),
        "PA_DATABASE_URL": "postgresql://app@db.internal:5432/partner_audit",
        "PA_EVIDENCE_STORE": "s3://evidence-bucket/partner-audit",
        "PA_S3_ENDPOINT_URL": "https://s3.example.org",
        "PA_PORT": "8443",
        "PA_SECURE_COOKIES": "yes",
    })
    assert not settings.is_sqlite and settings.is_s3
    assert settings.port == 8443 and settings.secure_cookies is True


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("PA_PORT", "abc", "whole number"),
        ("PA_PORT", "0", "between 1 and 65535"),
        ("PA_PORT", "70000", "between 1 and 65535"),
        ("PA_DATABASE_URL", "mysql://x", "sqlite:///"),
        ("PA_DATABASE_URL", "sqlite://relative.db", "sqlite:///path"),
        ("PA_EVIDENCE_STORE", "ftp://files.example.org/evidence", "folder path or s3://"),
        ("PA_EVIDENCE_STORE", "s3://", "s3://bucket"),
        ("PA_SECRET_KEY", "too-short", "at least 32 characters"),
        ("PA_SECURE_COOKIES", "maybe", "true or false"),
        ("PA_SESSION_HOURS", "0", "at least 1"),
        ("PA_MAX_UPLOAD_MB", "lots", "whole number"),
        ("PA_S3_ENDPOINT_URL", "s3.example.org:9000", "http(s) URL"),
        ("PA_SCORE_BAND_AMBER_FROM", "80", "must be below PA_SCORE_BAND_GREEN_FROM=80"),
        ("PA_SCORE_BAND_GREEN_FROM", "101", "between 1 and 100"),
        ("PA_REPORT_MIN_GROUP_SIZE", "0", "between 1 and 1000"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path: Path, variable: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"PA_VAR_DIR": str(tmp_path / "var"), variable: value})
    message = str(caught.value)
    assert message.startswith(variable)
    assert reason in message
    assert "\n" not in message


def test_a_secret_key_is_never_echoed_back(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"PA_VAR_DIR": str(tmp_path), "PA_SECRET_KEY": "hunter2-hunter2"})
    assert "hunter2" not in str(caught.value)
