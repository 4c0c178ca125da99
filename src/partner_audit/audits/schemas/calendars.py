"""Request and response bodies: calendars."""
