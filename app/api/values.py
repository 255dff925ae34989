"""Value types the API's answers share."""

from __future__ import annotations

# A number as Proxmox sent it: an int stays an int (0, not 0.0), a float a float, as the answers were before
# they were declared.
Number = int | float
