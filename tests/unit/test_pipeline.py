import json

import pandas as pd
import pytest

from fraud_detection.domain.errors import ValidationFailedError
from fraud_detection.domain.events import ModelPromoted, ModelRegistered
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.model import CHALLENGER, CHAMPION

STAGES = ["ingest", "validate", "features", "train", "evaluate", "register", "promote"]


def test_first_run_registers_and_promotes_a_champion(world):
    summary = world.run_pipeline()
    assert summary.version.version == 1
    assert world.registry.aliases == {CHAMPION: 1}  # challenger alias moved off once promoted
    assert summary.decision.promote
    assert summary.decision.reason == "no champion yet"
    run = world.tracker.runs[0]
    assert run.status == "FINISHED"
    assert run.tags["dataset_id"] == summary.dataset.id.value
    assert {"validation/report.json", "validation/report.html", "plots/pr_curve.png",
            "promotion/decision.json"} <= set(run.artifacts)  # fmt: skip
    assert run.metrics["oot_auprc"] == pytest.approx(summary.evaluation.metrics.auprc)
    _, metadata = run.models[0]
    assert metadata.feature_version == FEATURE_VERSION
    assert metadata.threshold == summary.training.threshold.threshold
    assert [type(e) for e in world.publisher.events] == [ModelRegistered, ModelPromoted]


def test_second_identical_run_keeps_the_champion_and_logs_why(world):
    """Same data: no row is new to the champion, so there is nothing fair to compare on."""
    world.run_pipeline()
    summary = world.run_pipeline()
    assert summary.version.version == 2
    assert world.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}
    assert not summary.decision.promote
    assert summary.decision.rows == 0
    assert summary.decision.reason.startswith("champion v1 kept (`fraud model promote 2` overrides)")
    assert "nothing to compare on" in summary.decision.reason
    assert world.registry.get(2).tags["promotion_decision"] == "keep"
    assert world.tracker.runs[1].tags["promotion_decision"] == "keep"


def test_an_equal_challenger_on_new_rows_keeps_the_champion(world):
    world.run_pipeline()
    summary = world.run_pipeline("more.csv")
    assert not summary.decision.promote
    assert summary.decision.reason.startswith("champion kept: auprc")
    assert "neither model was fitted on; challenger ahead in 0% of 1,000 resamples" in summary.decision.reason
    # the new rows, all in the out-of-fold blocks, less those within the gap after each fold's fitted rows
    assert 1_900 < summary.decision.rows < 2_000


def test_better_challenger_replaces_champion_and_remembers_it(world):
    world.run_pipeline()
    world.registry.models[1].weight = -1.0  # the champion now ranks frauds last
    summary = world.run_pipeline("more.csv")
    assert summary.decision.promote
    assert "challenger better" in summary.decision.reason
    assert world.registry.aliases == {CHAMPION: 2}
    assert world.registry.get(2).tags["previous_champion"] == "1"


def test_failed_validation_stops_before_training(world):
    world.validator.fail = True
    with pytest.raises(ValidationFailedError):
        world.run_pipeline()
    run = world.tracker.runs[0]
    assert run.status == "FAILED"
    assert "validation/report.json" in run.artifacts  # the reason is kept with the failed run
    assert world.trainer.calls == []
    assert world.registry.versions == {}
    assert world.publisher.events == []
    assert ("failed", "validate") in world.observer.events


def test_stages_report_progress_and_time_and_the_summary_is_json(world):
    summary = world.run_pipeline()
    assert [stage for kind, stage in world.observer.events if kind == "done"] == STAGES
    assert list(summary.stage_seconds) == STAGES
    document = json.loads(json.dumps(summary.to_dict()))
    assert document["model"] == {"name": "fake-model", "version": 1}
    assert document["training"]["imbalance_strategy"] == "none"


def test_the_ingest_stage_line_carries_a_warning_of_time_jumping_back(world):
    """The flow's quiet logging hides warnings: the stage's line is what the user reads."""
    world.run_pipeline()
    assert "warning" not in world.observer.details["ingest"]
    rejoined = world.frame.copy()
    rejoined["Time"] -= rejoined["Time"].min()
    world.source.frames["days.csv"] = pd.concat([rejoined, rejoined], ignore_index=True)
    world.run_pipeline("days.csv")
    first, warning = world.observer.details["ingest"].split("; warning: ")
    assert first.startswith("8,000 rows, ")
    assert warning.startswith("days.csv: Time goes back by more than 3600 s once in file order")


def test_stages_out_of_order_are_refused(world):
    pipeline = world.pipeline()
    with (
        pipeline.session(pipeline.ingest("good.csv")) as session,
        pytest.raises(RuntimeError, match="validate"),
    ):
        session.build_features()


def test_a_version_whose_profile_was_not_stored_gets_no_alias_and_cannot_be_promoted(world, monkeypatch):
    """S3 down while registering (seen on a real stack): the version existed with @challenger and no drift
    profile, `fraud model promote` served it, and drift checks then failed with a false explanation."""
    from fraud_detection.domain.errors import DataSourceError, IncompatibleModelError
    from fraud_detection.domain.model import REGISTRATION_FAILED_TAG

    def storage_down(profile):
        raise DataSourceError("cannot write s3://fraud/data/drift/profiles/v1.json: Could not connect")

    monkeypatch.setattr(world.profiles, "save", storage_down)
    with pytest.raises(DataSourceError):
        world.run_pipeline()
    assert world.registry.aliases == {}  # not @challenger, let alone champion
    assert "Could not connect" in world.registry.versions[1].tags[REGISTRATION_FAILED_TAG]
    admin = world.container.models.admin()
    with pytest.raises(IncompatibleModelError, match="what a failed registration left"):
        admin.promote(1)
    monkeypatch.undo()
    summary = world.run_pipeline()  # the retry registers a whole version
    assert summary.version.version == 2
    assert world.registry.aliases == {CHAMPION: 2}


class Killed(BaseException):
    """The process stopping (SIGKILL) right there: no handler runs, so no failure tag is written."""


def test_a_version_whose_registration_was_killed_cannot_be_promoted_or_rolled_out(world, monkeypatch):
    """A crash probe: `fraud pipeline run` killed once the version existed left it READY with no alias,
    profile or tag; `fraud model promote` and `fraud rollout start` took it, and drift checks then failed
    for want of its reference profile."""
    from fraud_detection.domain.errors import IncompatibleModelError
    from fraud_detection.domain.model import REGISTRATION_TAG

    world.run_pipeline()
    assert world.registry.versions[1].tags[REGISTRATION_TAG] == "complete"

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(world.profiles, "save", killed)
    monkeypatch.setattr(world.registry, "set_tag", killed)  # nor can a failure tag be written
    with pytest.raises(Killed):
        world.run_pipeline()
    monkeypatch.undo()
    assert world.registry.versions[2].tags[REGISTRATION_TAG] == "started"
    admin = world.container.models.admin()
    with pytest.raises(IncompatibleModelError, match=r"registration never finished \(the process stopped"):
        admin.promote(2)
    assert world.registry.aliases[CHAMPION] == 1


def test_a_version_left_without_its_alias_is_tagged_as_a_failed_registration(world, monkeypatch):
    """The registry failing at the challenger alias left a version with no alias and no tag: a retrain on
    the same labels then stopped as "already trained on this set" (a review of the disk-full probe)."""
    from fraud_detection.domain.errors import ServiceUnavailableError
    from fraud_detection.domain.model import REGISTRATION_FAILED_TAG

    def registry_down(alias, version):
        raise ServiceUnavailableError("registry unreachable")

    monkeypatch.setattr(world.registry, "set_alias", registry_down)
    with pytest.raises(ServiceUnavailableError):
        world.run_pipeline()
    failure = world.registry.versions[1].tags[REGISTRATION_FAILED_TAG]
    assert failure == "challenger alias not set: registry unreachable"


def test_a_registered_version_records_its_training_configuration(world):
    """What a retrain compares before skipping a set a version was already trained on."""
    from fraud_detection.domain.training_config import TRAINING_CONFIG_TAG

    world.run_pipeline()
    config = json.loads(world.registry.versions[1].tags[TRAINING_CONFIG_TAG])
    assert config["folds"] == 3
    assert config["review_cost"] == 5.0
    assert "threads" not in config
