"""A demo Proxmox VE cluster: fakepve with backups, disk resize and restore, plus a realistic inventory."""
