"""What runs beside the requests for the life of a process: expiring requests, returning freed memory."""
