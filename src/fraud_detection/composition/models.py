"""Operating the registry by hand: list, promote, roll back (`fraud model`, `/admin/model`); pruning the
datasets no version needs any more (`fraud data prune`); one version's whole record (`fraud model show`).

Kept apart from training so that listing versions imports neither the training use cases nor MLflow.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from fraud_detection.application.dataset_retention import DatasetRetention
from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.version_lineage import DescribeVersion


class Models(containers.DeclarativeContainer):
    adapters = providers.DependenciesContainer()

    admin = providers.Factory(
        ModelAdministration, adapters.catalog, adapters.registry.provider, adapters.publisher
    )
    dataset_retention = providers.Factory(DatasetRetention, adapters.datasets, adapters.registry)
    describe = providers.Factory(DescribeVersion, adapters.registry, adapters.tracker, adapters.datasets)
