"""Outgoing email: messages are written to an outbox table in the same transaction as the change that
causes them, and a sender delivers them over SMTP (see ``deliver_due``)."""

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
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
