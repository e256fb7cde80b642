"""The trip of a vote, one module per leg, each importing only the legs after it:

submit    the web side's rules (open, login, choice, changes) and its errors
sender    votes a web process takes at the same moment go together (group sending)
admission one Redis round trip: deadline, pending ballot, rate limits, ledger, queue push
ballots   each voter's pending ballot, so rules hold before the vote is stored
ledger    votes queued but not yet handled, so none the broker drops is lost
message   the vote on the wire and the Celery message that carries a group of them
store     the worker: one transaction per batch, last cast wins, tallies exact
metrics   the worker's Prometheus metrics
"""
