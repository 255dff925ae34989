"""A simulated Proxmox VE cluster: fakepve plus the state it keeps none of (vzdump backups and jobs, restores,
disk resize, node networks, metric history), answering as PVE does. Used by the demo and the tests, never by the app."""
