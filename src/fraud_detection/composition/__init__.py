"""Composition: the dependency-injector containers, by capability, and the one container per process."""

import sys

# dependency-injector's wiring module (imported with its containers) imports FastAPI, Starlette, Werkzeug
# and fast-depends when they are installed, to recognise their markers in wired functions: 0.6 s of every
# CLI command, for a feature this project does not use (nothing is wired). Unless the process has imported
# them already (the API has), they are hidden for that one import and reachable again right after.
_HIDDEN = [name for name in ("fastapi", "starlette", "werkzeug", "fast_depends") if name not in sys.modules]
for _name in _HIDDEN:
    sys.modules[_name] = None  # type: ignore[assignment]  # None makes `import name` raise ImportError
try:
    import dependency_injector.containers  # noqa: F401
finally:
    for _name in _HIDDEN:
        sys.modules.pop(_name, None)

from fraud_detection.composition.process import get_container, use_container  # noqa: E402
from fraud_detection.composition.root import Container  # noqa: E402

__all__ = ["Container", "get_container", "use_container"]
