"""Reference profiles as JSON documents in the object store (drift reports go through `Reports`).

    drift/profiles/<model name>/v<version>.json   one per registered version (written at training)

Each object is one atomic write, so a reader sees a whole document or the previous one. The Lambda handler
reads profiles from here too: it needs the bucket, not the MLflow server.
"""

from __future__ import annotations

import json
import logging

from fraud_detection.domain.drift.profile import ReferenceProfile
from fraud_detection.domain.errors import ObjectNotFoundError
from fraud_detection.domain.ports.drift import ReferenceProfiles
from fraud_detection.domain.ports.storage import ObjectStore

logger = logging.getLogger(__name__)

PROFILES = "drift/profiles"


class ObjectStoreReferenceProfiles(ReferenceProfiles):
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def save(self, profile: ReferenceProfile) -> None:
        key = _profile_key(profile.model_name, profile.model_version)
        self._store.write_bytes(key, json.dumps(profile.to_dict()).encode())

    def load(self, model_name: str, version: int) -> ReferenceProfile | None:
        try:
            document = json.loads(self._store.read_bytes(_profile_key(model_name, version)))
        except ObjectNotFoundError:
            return None
        return ReferenceProfile.from_dict(document)


def _profile_key(model_name: str, version: int) -> str:
    return f"{PROFILES}/{model_name}/v{version}.json"
