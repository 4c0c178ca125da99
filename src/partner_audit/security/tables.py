"""Who may sign in, how they stay signed in, and the access log.

Everything here lives in the database, never in a process, so that with several app processes a
logout, a deactivation or a login throttle takes effect everywhere on the next request.
"""

from piccolo.columns import UUID, BigInt, BigSerial, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
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


class AccessLogEntry(Table, tablename="access_log_entry"):
    """One operation on provider records or personal information. Written in the operation's own transaction and
    never changed: triggers refuse UPDATE and DELETE. ``seq`` is assigned by the database (arrival order, gaps where
    a transaction rolled back); ``mac`` is an HMAC of the content under a key the database does not hold, so a row
    forged or edited in the database shows. The sealer (``AccessLogSeal``) then chains entries in order."""

    seq = BigSerial(primary_key=True)
    uid = UUID(unique=True)  # covered by the MAC: a copied row cannot keep it (unique), nor change it (MAC)
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
    mac = Varchar(length=64)


class AccessLogSeal(Table, tablename="access_log_seal"):
    """An entry's place in the chain: ``position`` counts 1, 2, 3… with no gaps, and ``chain`` is the HMAC of the
    previous seal's chain, this position, the entry's seq and its MAC. Only the sealer writes here, and only
    appends: removing, reordering or rewriting entries breaks the chain, and cutting the tail falls short of the
    signed checkpoint kept outside the database."""

    position = BigInt(primary_key=True)
    entry = BigInt(unique=True)  # AccessLogEntry.seq
    chain = Varchar(length=64)
    sealed_at = Timestamptz()
