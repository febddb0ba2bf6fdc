"""The composition root: dependency-injector containers, one per capability, pick adapters from `Settings`
(environment variables).

`Container` only ties the capability containers together. It is a plain class so that every path through
it is typed: `container.serving.score_transactions` is a `Singleton[ScoreTransactions]` to mypy, and a
renamed provider fails the type check, not a request. Each capability is built (and its modules imported)
on first access, so `fraud model list` imports neither pandas' use cases nor MLflow. Nothing is wired:
entry points ask `get_container()` (one per process) for what they need, and tests override ports on a
real container (`container.adapters.registry.override(...)`), as dependency-injector's examples do.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from dependency_injector import providers
from pydantic import ValidationError

from fraud_detection.application.interruption import Interruption
from fraud_detection.application.progress import PipelineObserver
from fraud_detection.domain.errors import ConfigurationError
from fraud_detection.infrastructure.local.held_signals import holding_signals
from fraud_detection.infrastructure.local.home import private_home
from fraud_detection.infrastructure.mlflow.ca_bundle import trust_ca_bundle
from fraud_detection.settings import Settings
from fraud_detection.settings.problems import configuration_problems
from fraud_detection.settings.unknown import setting_variables, unknown_setting_problems

if TYPE_CHECKING:
    from fraud_detection.application.rollout import StartRollout
    from fraud_detection.composition.adapters import Adapters
    from fraud_detection.composition.batch import Batch
    from fraud_detection.composition.models import Models
    from fraud_detection.composition.monitoring import Drift, Feedback
    from fraud_detection.composition.rollout import Rollout
    from fraud_detection.composition.serving import Serving
    from fraud_detection.composition.training import Training
    from fraud_detection.domain.rollout import Rollout as StoredRollout


class Container:
    def __init__(self, settings: Settings | None = None) -> None:
        """`settings`: fixed settings (tests, benchmarks); by default they are read from the environment
        when first needed."""
        self.settings: providers.Provider[Settings] = (
            providers.Object(settings) if settings is not None else providers.Singleton(environment_settings)
        )
        self.observer = providers.Singleton(PipelineObserver)
        # The entry point's signal handler asks the running pipeline to stop through this one object; atomic
        # stages hold the process's signals whatever handles them (a Prefect worker's cancel included).
        self.interruption = providers.Singleton(Interruption, hold=holding_signals)

    @cached_property
    def adapters(self) -> Adapters:
        from fraud_detection.composition.adapters import Adapters

        return Adapters(settings=self.settings)

    @cached_property
    def models(self) -> Models:
        from fraud_detection.composition.models import Models

        models = Models(adapters=self.adapters)
        models.admin.add_kwargs(rollout_state=providers.Object(self._rollout_state))
        return models

    @cached_property
    def training(self) -> Training:
        from fraud_detection.composition.rollout import staged_start
        from fraud_detection.composition.training import Training

        training = Training(
            settings=self.settings,
            observer=self.observer,
            interruption=self.interruption,
            adapters=self.adapters,
        )
        # FRAUD_PROMOTION_MODE=staged: the gate starts a shadow rollout (the Rollout container is built,
        # and its store reached, only then).
        # While a rollout is active, the champion and challenger aliases move only through it.
        training.promote.add_kwargs(
            start_rollout=providers.Callable(
                staged_start, self.settings, providers.Object(self._rollout_start)
            ),
            rollout_state=providers.Object(self._rollout_state),
        )
        training.build_retraining_set.add_kwargs(rollout_state=providers.Object(self._rollout_state))
        return training

    def _rollout_start(self) -> StartRollout:
        return self.rollout.start()

    def _rollout_state(self) -> StoredRollout | None:
        """The stored rollout (the store is built on first read: a promotion reads it once)."""
        return self.rollout.store().load()

    @cached_property
    def serving(self) -> Serving:
        from fraud_detection.composition.serving import Serving

        return Serving(settings=self.settings, adapters=self.adapters)

    @cached_property
    def batch(self) -> Batch:
        from fraud_detection.composition.batch import Batch

        return Batch(settings=self.settings, adapters=self.adapters)

    @cached_property
    def drift(self) -> Drift:
        from fraud_detection.composition.monitoring import Drift

        return Drift(settings=self.settings, adapters=self.adapters)

    @cached_property
    def feedback(self) -> Feedback:
        from fraud_detection.composition.monitoring import Feedback

        return Feedback(settings=self.settings, adapters=self.adapters)

    @cached_property
    def rollout(self) -> Rollout:
        from fraud_detection.composition.rollout import Rollout

        return Rollout(settings=self.settings, adapters=self.adapters)


def environment_settings() -> Settings:
    """The settings from the environment, with FRAUD_HOME created private (before any command writes in
    it) and the MLflow server's CA, when FRAUD_MLFLOW_CA_BUNDLE gives it, in a file that
    MLFLOW_TRACKING_SERVER_CERT_PATH names before any MLflow client is made (a path the deployer set wins).

    A bad or misspelt setting is a `ConfigurationError` naming each variable, for every entry point: the CLI
    checked it, but the drift Lambda and the Prefect flows ran with FRAUD_DRIFT_WINDOW_HOUR=3 ignored (the
    default 24 h) and showed pydantic's own message for a malformed one."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigurationError(configuration_problems(error.errors())) from None
    problems = unknown_setting_problems(os.environ, setting_variables())
    if problems:
        raise ConfigurationError(f"invalid configuration: {'; '.join(problems)}")
    private_home(settings.home)
    trust_ca_bundle(settings.mlflow_ca_bundle, settings.home.resolve())
    return settings
