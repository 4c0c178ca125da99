"""Every setting, read from ``PA_*`` environment variables, with defaults that work on a laptop.

A bad value stops start-up with one line naming the variable and the reason (``SettingsError``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and says why."""


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    evidence_store: str
    s3_endpoint_url: str | None
    s3_region: str
    s3_access_key_id: str | None
    s3_secret_access_key: str | None
    secret_key: str
    host: str
    port: int
    session_hours: int
    api_token_days: int  # an API token's lifetime when its maker names none
    login_max_failures: int
    login_window_minutes: int
    max_upload_bytes: int
    secure_cookies: bool
    attestation_days: int
    attestation_link_days: int
    smtp_host: str | None
    smtp_port: int
    smtp_tls: str  # none, starttls or tls
    smtp_user: str | None
    smtp_password: str | None
    mail_from: str
    public_url: str
    retention_months: int  # holder details are redacted this long after a device comes back
    access_log_seal_seconds: int  # how often each process seals the access log; 0: only when the process stops
    # Privacy Act 2020 breach clocks (devices.services.breaches). Deciding whether a breach is likely to cause serious
    # harm has no figure in the Act ("as soon as practicable", s 114): this is the agency's own target, from the
    # incident's report. Notifying has the Privacy Commissioner's: 72 hours from knowing the breach is notifiable.
    breach_assessment_hours: int = 48
    breach_notification_hours: int = 72
    # Audits (audits.services). How often each risk tier is audited, counted from its last closed audit: most
    # accredited social-sector providers are reviewed every two years, the highest-risk yearly.
    audit_interval_months: tuple[int, int, int] = (12, 24, 36)  # tier 1, 2, 3
    auditor_audits_per_week: int = 2  # an auditor's capacity when their profile names none
    audit_independence_months: int = 12  # no leading a review of a provider one audited or was responsible for
    follow_up_score_below: int = 50  # an accepted self-assessment scoring under this proposes a follow-up audit
    spot_check_confidence: float = 0.95  # attribute sampling, zero expected exceptions
    spot_check_tolerable_rate: float = 0.05
    reminder_working_days: int = 5  # reminders go this many NZ working days before a date
    # Scores (reports.scoring): a score is green from the first figure, amber from the second, red below it; every
    # band is shown with its word, never colour alone.
    score_band_green_from: int = 80
    score_band_amber_from: int = 50
    # Governance sees aggregates only: a group of fewer providers than this (a region, a tier, a kind) is shown as
    # suppressed, since its figures could point at one provider.
    report_min_group_size: int = 5

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def is_s3(self) -> bool:
        return self.evidence_store.startswith("s3://")


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: must be a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise SettingsError(f"{name}={raw!r}: must be {bounds}")
    return value


def _fraction(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: must be a fraction between 0 and 1, such as {default}") from None
    if not 0 < value < 1:
        raise SettingsError(f"{name}={raw!r}: must be between 0 and 1 (not including either), such as {default}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r}: must be true or false")


def _database_url(env: dict[str, str], var_dir: Path) -> str:
    url = env.get("PA_DATABASE_URL") or f"sqlite:///{var_dir / 'partner-audit.sqlite3'}"
    scheme = urlparse(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql"}:
        raise SettingsError(
            f"PA_DATABASE_URL={url!r}: must start with sqlite:/// or postgresql://"
        )
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise SettingsError(f"PA_DATABASE_URL={url!r}: a SQLite URL is sqlite:///path/to/file")
    return url


def _evidence_store(env: dict[str, str], var_dir: Path) -> str:
    store = env.get("PA_EVIDENCE_STORE") or str(var_dir / "evidence")
    if store.startswith("s3://"):
        if not urlparse(store).netloc:
            raise SettingsError(f"PA_EVIDENCE_STORE={store!r}: an S3 store is s3://bucket/optional/prefix")
    elif "://" in store:
        raise SettingsError(f"PA_EVIDENCE_STORE={store!r}: must be a folder path or s3://bucket/prefix")
    return store


def _secret_key(env: dict[str, str], var_dir: Path) -> str:
    """The key signing tokens. Never hard-coded: when unset, made once and kept under var/."""
    key = env.get("PA_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise SettingsError("PA_SECRET_KEY: must be at least 32 characters")
        return key
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions so other local users cannot read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


# The usual port for each way of securing SMTP: plain, upgraded with STARTTLS, or TLS from the first byte.
SMTP_PORTS = {"none": 25, "starttls": 587, "tls": 465}


def _smtp_tls(env: dict[str, str]) -> str:
    mode = (env.get("PA_SMTP_TLS") or "starttls").lower()
    if mode not in SMTP_PORTS:
        raise SettingsError(f"PA_SMTP_TLS={mode!r}: must be none, starttls or tls")
    return mode


def _public_url(env: dict[str, str]) -> str:
    """Where people reach the service: links in email are made from it, so it must be absolute."""
    url = env.get("PA_PUBLIC_URL") or f"http://{env.get('PA_HOST') or '127.0.0.1'}:{env.get('PA_PORT') or 8000}"
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise SettingsError(f"PA_PUBLIC_URL={url!r}: must be an absolute http(s) URL such as https://audit.example.govt.nz")
    return url.rstrip("/")


def _var_dir(env: dict[str, str]) -> Path:
    return Path(env.get("PA_VAR_DIR") or "var").resolve()


def load_database_url(env: dict[str, str] | None = None) -> str:
    """Only the database URL: for Piccolo's own command line, which must not make a secret key as a side effect."""
    env = dict(os.environ if env is None else env)
    return _database_url(env, _var_dir(env))


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    var_dir = _var_dir(env)
    smtp_tls = _smtp_tls(env)
    settings = Settings(
        var_dir=var_dir,
        database_url=_database_url(env, var_dir),
        evidence_store=_evidence_store(env, var_dir),
        s3_endpoint_url=env.get("PA_S3_ENDPOINT_URL") or None,
        s3_region=env.get("PA_S3_REGION") or "us-east-1",
        s3_access_key_id=env.get("PA_S3_ACCESS_KEY_ID") or None,
        s3_secret_access_key=env.get("PA_S3_SECRET_ACCESS_KEY") or None,
        secret_key=_secret_key(env, var_dir),
        host=env.get("PA_HOST") or "127.0.0.1",
        port=_int(env, "PA_PORT", 8000, minimum=1, maximum=65535),
        session_hours=_int(env, "PA_SESSION_HOURS", 12, minimum=1),
        api_token_days=_int(env, "PA_API_TOKEN_DAYS", 90, minimum=1, maximum=3650),
        login_max_failures=_int(env, "PA_LOGIN_MAX_FAILURES", 5, minimum=1),
        login_window_minutes=_int(env, "PA_LOGIN_WINDOW_MINUTES", 15, minimum=1),
        max_upload_bytes=_int(env, "PA_MAX_UPLOAD_MB", 250, minimum=1) * 1024 * 1024,
        secure_cookies=_bool(env, "PA_SECURE_COOKIES", False),
        attestation_days=_int(env, "PA_ATTESTATION_DAYS", 90, minimum=1),
        attestation_link_days=_int(env, "PA_ATTESTATION_LINK_DAYS", 7, minimum=1),
        smtp_host=env.get("PA_SMTP_HOST") or None,
        smtp_port=_int(env, "PA_SMTP_PORT", SMTP_PORTS[smtp_tls], minimum=1, maximum=65535),
        smtp_tls=smtp_tls,
        smtp_user=env.get("PA_SMTP_USER") or None,
        smtp_password=env.get("PA_SMTP_PASSWORD") or None,
        mail_from=env.get("PA_MAIL_FROM") or "partner-audit@localhost",
        public_url=_public_url(env),
        retention_months=_int(env, "PA_RETENTION_MONTHS", 24, minimum=1),
        access_log_seal_seconds=_int(env, "PA_ACCESS_LOG_SEAL_SECONDS", 2, minimum=0, maximum=3600),
        breach_assessment_hours=_int(env, "PA_BREACH_ASSESSMENT_HOURS", 48, minimum=1, maximum=24 * 30),
        breach_notification_hours=_int(env, "PA_BREACH_NOTIFICATION_HOURS", 72, minimum=1, maximum=24 * 30),
        audit_interval_months=(
            _int(env, "PA_AUDIT_INTERVAL_TIER1_MONTHS", 12, minimum=1, maximum=120),
            _int(env, "PA_AUDIT_INTERVAL_TIER2_MONTHS", 24, minimum=1, maximum=120),
            _int(env, "PA_AUDIT_INTERVAL_TIER3_MONTHS", 36, minimum=1, maximum=120),
        ),
        auditor_audits_per_week=_int(env, "PA_AUDITOR_AUDITS_PER_WEEK", 2, minimum=1, maximum=25),
        audit_independence_months=_int(env, "PA_AUDIT_INDEPENDENCE_MONTHS", 12, minimum=0, maximum=120),
        follow_up_score_below=_int(env, "PA_FOLLOW_UP_SCORE_BELOW", 50, minimum=0, maximum=100),
        spot_check_confidence=_fraction(env, "PA_SPOT_CHECK_CONFIDENCE", 0.95),
        spot_check_tolerable_rate=_fraction(env, "PA_SPOT_CHECK_TOLERABLE_RATE", 0.05),
        reminder_working_days=_int(env, "PA_REMINDER_WORKING_DAYS", 5, minimum=0, maximum=60),
        score_band_green_from=_int(env, "PA_SCORE_BAND_GREEN_FROM", 80, minimum=1, maximum=100),
        score_band_amber_from=_int(env, "PA_SCORE_BAND_AMBER_FROM", 50, minimum=0, maximum=100),
        report_min_group_size=_int(env, "PA_REPORT_MIN_GROUP_SIZE", 5, minimum=1, maximum=1000),
    )
    if settings.score_band_amber_from >= settings.score_band_green_from:
        raise SettingsError(
            f"PA_SCORE_BAND_AMBER_FROM={settings.score_band_amber_from}: must be below "
            f"PA_SCORE_BAND_GREEN_FROM={settings.score_band_green_from}")
    if settings.s3_endpoint_url and urlparse(settings.s3_endpoint_url).scheme not in {"http", "https"}:
        raise SettingsError(f"PA_S3_ENDPOINT_URL={settings.s3_endpoint_url!r}: must be an http(s) URL")
    return settings
