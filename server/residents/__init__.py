"""Resident feedback: invitations, responses without an account, hearing back, data rights."""
