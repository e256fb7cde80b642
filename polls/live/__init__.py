"""Live events to open results pages: what they are (events) and who sends them (publisher).

Any process that changes a poll imports this; only the results role receives the events
(results.fanout, results.consumers).
"""
