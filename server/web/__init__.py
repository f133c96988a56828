"""Plain HTML pages for people following a link from an email or SMS (no JavaScript)."""
