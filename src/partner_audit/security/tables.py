"""Who may sign in, how they stay signed in, and the access log.

Everything here lives in the database, never in a process, so that with several app processes a
logout, a deactivation or a login throttle takes effect everywhere on the next request.
"""

from piccolo.columns import UUID, BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from partner_audit.security.caller import Role


class User(Table, tablename="app_user"):
    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)  # stored lower-cased
    full_name = Varchar(length=120)
    role = Varchar(length=20, choices=Role)
    # A person at a provider belongs to it; agency staff have none. Lazy so the core does not import a domain.
    provider = ForeignKey(
        LazyTableReference("Provider", module_path="partner_audit.providers.tables"),
        null=True,
        default=None,
    )
    password_hash = Varchar(length=255)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AccessToken(Table, tablename="access_token"):
    """A browser session (cookie) or an API token (bearer). Only the SHA-256 of the secret is kept."""

    id = UUID(primary_key=True)
    kind = Varchar(length=10)  # "session" or "api"
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, null=False)
    name = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class LoginThrottle(Table, tablename="login_throttle"):
    """Sign-in attempts in the current window, one row per account and per client address.

    A sign-in reserves its slot with one upsert that counts and returns the counts in the same statement, so
    guesses arriving at once, in any number of processes, cannot all pass the check before any is counted.
    """

    key = Varchar(length=300, primary_key=True)  # "email:<address>" or "ip:<address>"
    failures = Integer(default=0)
    pending = Integer(default=0)  # attempts reserved and still being checked
    window_started = BigInt(default=0)  # Unix seconds: plain integers compare alike on SQLite and PostgreSQL


class AccessLogEntry(Table, tablename="access_log"):
    """Append-only; each entry carries the hash of the one before, so an edited or deleted row shows."""

    id = UUID(primary_key=True)
    seq = Integer(unique=True)
    at = Timestamptz()
    user_id = Varchar(length=36, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    role = Varchar(length=20, null=True, default=None)
    action = Varchar(length=60)
    record_type = Varchar(length=40)
    record_id = Varchar(length=64, null=True, default=None)
    provider_id = Varchar(length=36, null=True, default=None, index=True)
    outcome = Varchar(length=20)
    request_id = Varchar(length=64, null=True, default=None)
    detail = Text(default="")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
