"""Views of the cluster: health, nodes, guests, storage, backups, tasks, metric history and the connection."""
