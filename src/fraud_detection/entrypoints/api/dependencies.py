"""Request dependencies: the use cases of the container the app holds (`app.state.container`).

Resolved per request from the app's own container, so tests swap adapters with `container.x.override(...)`
and no module-level wiring can be forgotten. They are `async def`: FastAPI runs a plain `def` dependency in
its thread pool, a thread hop that halved /v1/score's throughput in the serving benchmark.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request


def provided(provider: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency returning what the container's `provider` provides."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state.container, provider)()

    dependency.__name__ = f"provided_{provider}"
    return dependency


scorer = provided("score_transactions")
holder = provided("model_holder")
loader = provided("champion_loader")
settings = provided("settings")
retrain = provided("request_retrain")
model_admin = provided("model_admin")
submit_job = provided("submit_job")
job_control = provided("job_control")
