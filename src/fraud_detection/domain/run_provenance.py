"""Names of what every training run records about where it came from (written by the tracker adapter and
the retrain flow, read by `fraud model show`): one list, so the reader and the writers cannot drift."""

from __future__ import annotations

import getpass

# MLflow's own tag names, which its UI shows; ours under `fraud.`.
USER_TAG = "mlflow.user"
COMMIT_TAG = "mlflow.source.git.commit"
CODE_VERSION_TAG = "fraud.code_version"
HOST_TAG = "fraud.host"
# A retrain's run: what started it and what it learnt from.
RETRAIN_REASON_TAG = "retrain.reason"
RETRAIN_BASE_TAG = "retrain.base_dataset"
RETRAIN_ROWS_TAG = "retrain.labelled_rows"
RETRAIN_SINCE_TAG = "retrain.lookback_since"


def process_user() -> str:
    """Who runs this process, for the records (a run's `mlflow.user`, a champion move's `by`)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no USER variable
        return "unknown"
