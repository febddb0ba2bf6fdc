"""Model versions in the registry and what travels with a trained model."""

from __future__ import annotations

from dataclasses import dataclass, field

CHAMPION = "champion"
CHALLENGER = "challenger"
# The highest version number asked of the registry (the CLI's options, a batch job's `model`): 10**20 ended
# in SQLite's overflow traceback, and 2**63 failed a job as `internal`.
VERSION_MAX = 2**31 - 1
# Version tag holding the SHA-256 (hex) of the model file recorded at registration; every load of the
# version, from the registry or a local copy, must match it.
MODEL_DIGEST_TAG = "model_sha256"
# Set on a version whose registration failed after the registry created it (its reference profile could not
# be stored, or its alias not set): promoting it is refused (drift checks need the profile).
REGISTRATION_FAILED_TAG = "registration_failed"
# Created with a version as "started" and set to "complete" once its registration is (reference profile,
# training configuration, alias): a version left "started" is what a stopped process left, refused like a
# failed one. Before, a `fraud pipeline run` killed there left a version that could be promoted and rolled
# out, whose drift checks then failed for want of a reference profile. Older versions have no such tag.
REGISTRATION_TAG = "registration"
REGISTRATION_STARTED = "started"
REGISTRATION_COMPLETE = "complete"
# The promotion gate's decision on a version (promote, staged, keep); absent: the gate never judged it.
GATE_DECISION_TAG = "promotion_decision"


@dataclass(frozen=True)
class ModelMetadata:
    """Stored with every registered version; checked when a model is loaded for scoring."""

    feature_version: str
    threshold: float
    dataset_id: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    aliases: tuple[str, ...]
    run_id: str | None
    created_at: str
    metadata: ModelMetadata | None
    tags: dict[str, str] = field(default_factory=dict)
    # Why `metadata` is None although its tags are there (a threshold edited into "high"): such a version
    # is neither served, nor compared, nor replaced as if it had been built for other features.
    metadata_problem: str | None = None

    @property
    def label(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.name} v{self.version}{aliases}"
