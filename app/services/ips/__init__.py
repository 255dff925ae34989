"""The IP inventory: configured and reported addresses of every guest, subnets and free addresses."""

from app.services.ips.free import DEFAULT_FREE_LIMIT, MAX_FREE_LIMIT
from app.services.ips.index import FIRST_WAIT
from app.services.ips.probe import AddressProbe, parse_checks
from app.services.ips.results import CANNOT_SEE, GuestIps, IndexProgress, IpItem, IpNote
from app.services.ips.scope import GuestScope
from app.services.ips.service import IpService
from app.services.ips.store import IpStore
from app.services.ips.subnets import MAX_FILTER_LENGTH

__all__ = [
    "AddressProbe",
    "CANNOT_SEE",
    "DEFAULT_FREE_LIMIT",
    "FIRST_WAIT",
    "GuestIps",
    "GuestScope",
    "IndexProgress",
    "IpItem",
    "IpNote",
    "IpService",
    "IpStore",
    "MAX_FILTER_LENGTH",
    "MAX_FREE_LIMIT",
    "parse_checks",
]
