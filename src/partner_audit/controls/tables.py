"""Loaded template versions. A row is written once and never updated: a changed file is a new row."""

from piccolo.columns import JSON, UUID, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class TemplateVersion(Table, tablename="template_version"):
    id = UUID(primary_key=True)
    key = Varchar(length=80, index=True)  # the template's key in its YAML, e.g. "pip-2024-25"
    title = Varchar(length=200)
    version = Varchar(length=40)  # the label from the YAML, e.g. "2024.1"
    # "<key>@<version>": one label names one content, so a version picked for a rollout is unambiguous.
    key_version = Varchar(length=121, unique=True)
    # sha256 of the canonical JSON of the parsed template: the same content is never loaded twice.
    content_hash = Varchar(length=64, unique=True)
    content = JSON()  # the parsed template, defaults filled in, as the assessments read it
    loaded_at = Timestamptz(default=TimestamptzNow())
