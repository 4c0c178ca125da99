"""The providers registry: the organisations the agency contracts."""

from piccolo.columns import UUID, Date, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from partner_audit.providers.schemas import ProviderKind, ProviderStatus, Region


class Provider(Table, tablename="provider"):
    id = UUID(primary_key=True)
    name = Varchar(length=200, index=True)
    nzbn = Varchar(length=13, unique=True)
    kind = Varchar(length=20, choices=ProviderKind)
    region = Varchar(length=60, index=True, choices=Region)
    risk_tier = Integer()
    contract_reference = Varchar(length=60, null=True, default=None)
    contract_start = Date(null=True, default=None)
    contract_end = Date(null=True, default=None)
    status = Varchar(length=20, default="onboarding", choices=ProviderStatus)
    # The provincial anniversary day it observes (audits.calendar.AnniversaryDay), on which no audit is planned;
    # None until recorded: then its region's usual day (audits.calendar.for_region).
    anniversary_day = Varchar(length=30, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
