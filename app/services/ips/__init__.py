"""The IP inventory: configured and reported addresses of every guest, subnets and free addresses."""
