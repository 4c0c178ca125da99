"""The outbox: mail queued with the change that causes it, delivered over SMTP by `partner-audit send-mail`."""
