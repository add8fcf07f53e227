"""One small module per message family; each handler builds a response body from a request.

A handler is `handler(session, request, now) -> Reply`. It never decides which request may come next: that is
`iso15118.secc.table`. It may only keep the machine in its current state (`Reply.stay`, e.g. "Ongoing").
"""
