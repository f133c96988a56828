"""The transactional outbox: work for the workers, written in the same transaction."""
