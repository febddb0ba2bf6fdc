"""What shapes a trained model and its threshold besides its data and code, recorded on each version.

A retrain stops before training when a version was already trained on exactly its set (training is
deterministic: the same model again). That held for the data alone: after `FRAUD_REVIEW_COST`,
`FRAUD_SEED` or the folds changed, a retrain on the same labels still stopped, and the model the new
settings call for was never trained. Threads are left out: 1 and 2 threads grow identical trees (lineage
audit); the imbalance weight is chosen by the folds, not set."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: `fraud model describe` compares configs and loads no frame
    from fraud_detection.domain.folds import FoldPolicy
    from fraud_detection.domain.training import TrainingParams

# Version tag: the configuration as sorted JSON (readable in MLflow's UI); absent on versions from before.
TRAINING_CONFIG_TAG = "training_config"
_NOT_CONFIGURATION = ("threads", "scale_pos_weight")


def training_config(params: TrainingParams, folds: FoldPolicy, review_cost: float) -> dict[str, object]:
    config: dict[str, object] = {
        name: value for name, value in params.as_dict().items() if name not in _NOT_CONFIGURATION
    }
    config.update(
        folds=folds.folds,
        first_fit_fraction=folds.first_fit_fraction,
        gap_seconds=folds.gap_seconds,
        review_cost=review_cost,
    )
    return config


def encode_config(config: Mapping[str, object]) -> str:
    return json.dumps(config, sort_keys=True)


def decode_config(text: str | None) -> dict[str, object] | None:
    """The recorded configuration; None when absent or unreadable (a tag edited by hand)."""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def same_config(recorded: str | None, current: Mapping[str, object]) -> bool:
    """A version without the tag (registered before it existed) counts as the same, as it did then; one
    whose tag does not parse (edited by hand) as different: retraining costs minutes, a wrong skip a model."""
    if recorded is None:
        return True
    return bool(decode_config(recorded) == json.loads(encode_config(current)))
