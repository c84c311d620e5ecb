"""OPS API: the backend of a national operations-coordination center."""
