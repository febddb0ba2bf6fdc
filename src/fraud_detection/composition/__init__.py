"""Composition: the dependency-injector container, by capability, and the one container per process."""

from fraud_detection.composition.process import get_container, use_container
from fraud_detection.composition.root import Container

__all__ = ["Container", "get_container", "use_container"]
