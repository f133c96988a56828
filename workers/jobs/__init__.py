"""Scheduled and periodic jobs: reminders, receipts, digests."""
