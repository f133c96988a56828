"""HTTP benchmark: Doorstep's contract operations through uvicorn, beside two anchors.

Doorstep (production settings, PostgreSQL, Redis) and two anchor apps (a bare Starlette
endpoint, a plain Strawberry app) each run under uvicorn pinned to core 0; wrk, pinned to
core 1, loads one workload at a time, every workload in turn in each round, and a Lua
script checks every response. Prints req/s, p50/p99, RSS, SQL statements and transactions
per request and the ratios to the anchors; writes bench/results/http-<date>-<label>.json.
See bench/README.md;
the command is in cli.py (this package's modules import nothing heavy here: the anchor
apps are imported from it by the servers).
"""
