"""Monitoring: drift checks on captured predictions, and chargeback feedback with realised quality."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from fraud_detection.application.compaction import CompactCaptures
from fraud_detection.application.drift.check import CheckDrift
from fraud_detection.application.feedback import MeasureRealisedQuality, RecordFeedback
from fraud_detection.application.feedback.measure import VersionCalibration
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.settings import Settings

if TYPE_CHECKING:
    from fraud_detection.domain.ports.drift import DistributionTests, DriftChart


def make_drift_policy(settings: Settings) -> DriftPolicy:
    return DriftPolicy(
        family_alpha=settings.drift_family_alpha,
        min_rows=settings.drift_min_rows,
        min_psi=settings.drift_min_psi,
        min_score_psi=settings.drift_min_score_psi,
        precision_tolerance=settings.drift_precision_tolerance,
        recall_tolerance=settings.drift_recall_tolerance,
        realised_tolerance=settings.drift_realised_tolerance,
    )


def make_distribution_tests() -> DistributionTests:
    from fraud_detection.infrastructure.numpy.distribution_tests import ClosedFormDistributionTests

    return ClosedFormDistributionTests()


def make_drift_chart(policy: DriftPolicy) -> DriftChart:
    from fraud_detection.infrastructure.matplotlib.drift_chart import MatplotlibDriftChart

    return MatplotlibDriftChart(policy.min_psi)


class Drift(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    policy = providers.Singleton(make_drift_policy, settings)
    check = providers.Factory(
        CheckDrift,
        captured=adapters.captured_predictions,
        profiles=adapters.reference_profiles,
        reports=adapters.reports,
        tests=providers.Singleton(make_distribution_tests),
        chart=providers.Singleton(make_drift_chart, policy),
        publisher=adapters.publisher,
        policy=policy,
        model_name=settings.provided.model_name,
    )
    compact = providers.Factory(CompactCaptures, adapters.capture_compaction, adapters.reports)


class Feedback(containers.DeclarativeContainer):
    """Chargeback labels joined with the decisions served, and the realised quality they give."""

    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    record = providers.Factory(
        RecordFeedback,
        adapters.feedback_store,
        retention_days=settings.provided.feedback_retention_days,
    )
    measure_quality = providers.Factory(
        MeasureRealisedQuality,
        adapters.feedback_store,
        adapters.reports,
        calibrate=providers.Factory(
            VersionCalibration, adapters.reference_profiles, settings.provided.model_name
        ),
    )
