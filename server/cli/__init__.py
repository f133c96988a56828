"""The command line: serve, worker, migrate, dev and the operator commands."""
