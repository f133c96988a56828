"""Delivery channels: one module per provider, all behind the Channel protocol in base.py."""
