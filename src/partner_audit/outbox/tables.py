"""The outbox: one row per message, written with the change that causes it and kept after it is sent."""

from piccolo.columns import UUID, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox_message"):
    id = UUID(primary_key=True)
    to_address = Varchar(length=254)
    subject = Varchar(length=200)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    send_after = Timestamptz(default=TimestamptzNow(), index=True)
    attempts = Integer(default=0)
    last_error = Text(default="")
    # A sender claims a message until this time; another process may take it over only after.
    claimed_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None, index=True)


class Reminder(Table, tablename="reminder"):
    """A reminder, recorded under its unique key ("audit-soon:<audit>:<auditor>") in the transaction that queues its
    message: the database refuses the same reminder twice, however many processes run the reminders job."""

    id = UUID(primary_key=True)
    key = Varchar(length=200, unique=True)
    kind = Varchar(length=40, index=True)
    message = ForeignKey(OutboxMessage, null=False)
    created_at = Timestamptz(default=TimestamptzNow())
