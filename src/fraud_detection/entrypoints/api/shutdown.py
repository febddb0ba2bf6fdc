"""How long a stopping `fraud serve` worker waits for requests under way: uvicorn's graceful shutdown, and
the orphan guard's wait before it ends a worker whose supervisor died (app.py). Its own module so the CLI
and the app share it without either importing the other (the app importing the CLI cost each worker
~35 ms of typer and rich)."""

GRACEFUL_SHUTDOWN_SECONDS = 15
