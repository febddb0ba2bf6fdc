"""Candidates for beating the plain baselines on the real rows (issue 11), in-process, ahead of any change.

Same hash halves, both directions, same seeds and same baselines as `real_data.py`; the pipeline's fit is
reproduced in-process by calling `TrainModel` with the LightGBM adapter (expanding time folds, rounds by
fold-averaged log-loss, imbalance strategy by pooled out-of-fold AUPRC, refit with scaled rounds). Every
choice a candidate makes (a blend weight, a parameter value, an Optuna trial) is made on the training half's
out-of-fold scores; the other half only gives the reported figure.

    PYTHONPATH=src .venv/bin/python benchmarks/real_data_candidates.py [--seeds 1 2 3] [--optuna-trials 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_data import BASELINES, DEFAULT_SOURCE, baselines, halves

import fraud_detection.infrastructure.lightgbm.trainer as lgbm_trainer
from fraud_detection.application.train import FoldedData, TrainModel, imbalance_strategies, labelled
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.schema import check_transactions
from fraud_detection.domain.training import LabelledData, TrainingParams
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource

REVIEW_COST = 5.0
WEIGHTS = np.round(np.arange(0.0, 1.0001, 0.05), 2)
_booster_params = lgbm_trainer.booster_params
EXTRA: dict[str, object] = {}  # LightGBM parameters the TrainingParams do not carry (experiment only)
lgbm_trainer.booster_params = lambda params: _booster_params(params) | EXTRA


@dataclass
class Fitted:
    oof: np.ndarray  # logits, out of fold, time order
    test: np.ndarray  # logits on the other half
    oof_auprc: float


def clipped_logit(p: np.ndarray) -> np.ndarray:
    return np.asarray(logit(np.clip(p, 1e-12, 1 - 1e-12)))


def fit_pipeline(
    data: FoldedData, test: LabelledData, params: TrainingParams, extra: dict[str, object] | None = None
) -> Fitted:
    EXTRA.clear()
    EXTRA.update(extra or {})
    result = TrainModel(lgbm_trainer.LightGBMTrainer(), params, REVIEW_COST)(data)
    EXTRA.clear()
    return Fitted(
        clipped_logit(result.oof_scores),
        clipped_logit(result.model.predict_proba(test.features)),
        result.chosen.oof_auprc,
    )


def logistic() -> object:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5_000))


def fit_lr(data: FoldedData, test: LabelledData) -> Fitted:
    """Standardised LR on the same folds (out-of-fold logits) and on every training row (test logits)."""
    oof = []
    for fold in data.folds.folds:
        fit, evaluate = data.parts(fold)
        oof.append(logistic().fit(fit.features, fit.labels).decision_function(evaluate.features))  # type: ignore[attr-defined]
    scores = np.concatenate(oof)
    full = logistic().fit(data.data.features, data.data.labels)  # type: ignore[attr-defined]
    return Fitted(
        scores, full.decision_function(test.features), average_precision(data.out_of_fold.labels, scores)
    )


def fit_forest(data: FoldedData, test: LabelledData, make: Callable[[], object]) -> Fitted:
    """A sklearn forest on the same folds (out-of-fold) and on every training row (test), as logits."""

    def scores(model: object, features: pd.DataFrame) -> np.ndarray:
        return clipped_logit(np.clip(model.predict_proba(features)[:, 1], 1e-6, 1 - 1e-6))  # type: ignore[attr-defined]

    oof = []
    for fold in data.folds.folds:
        fit, evaluate = data.parts(fold)
        oof.append(scores(make().fit(fit.features, fit.labels), evaluate.features))  # type: ignore[attr-defined]
    pooled = np.concatenate(oof)
    full = make().fit(data.data.features, data.data.labels)  # type: ignore[attr-defined]
    return Fitted(pooled, scores(full, test.features), average_precision(data.out_of_fold.labels, pooled))


def blend(
    a: Fitted, b: Fitted, oof_labels: np.ndarray, transform: Callable[[np.ndarray], np.ndarray]
) -> tuple[Fitted, float]:
    """(1-w)·a + w·b on transformed scores, w chosen on the pooled out-of-fold AUPRC (ties: smaller w)."""

    def mix(x: np.ndarray, y: np.ndarray, w: float) -> np.ndarray:
        return (1 - w) * transform(x) + w * transform(y)

    aps = [average_precision(oof_labels, mix(a.oof, b.oof, w)) for w in WEIGHTS]
    w = float(WEIGHTS[int(np.argmax(aps))])
    return Fitted(mix(a.oof, b.oof, w), mix(a.test, b.test, w), max(aps)), w


def zscore_by_oof(oof: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    mean, std = float(np.mean(oof)), float(np.std(oof))
    return lambda x: (x - mean) / std


def ranks(x: np.ndarray) -> np.ndarray:
    return np.asarray(rankdata(x) / len(x))


def optuna_params(
    data: FoldedData, seed: int, trials: int
) -> tuple[TrainingParams, dict[str, object], float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def space(trial: optuna.Trial) -> tuple[TrainingParams, dict[str, object]]:
        params = replace(
            TrainingParams(seed=seed),
            learning_rate=trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
            num_leaves=trial.suggest_int("num_leaves", 4, 63, log=True),
            min_child_samples=trial.suggest_int("min_child_samples", 5, 100, log=True),
            min_sum_hessian_in_leaf=trial.suggest_float("min_sum_hessian_in_leaf", 1e-3, 10, log=True),
            feature_fraction=trial.suggest_float("feature_fraction", 0.2, 1.0),
            bagging_fraction=trial.suggest_float("bagging_fraction", 0.5, 1.0),
            lambda_l2=trial.suggest_float("lambda_l2", 1e-2, 100, log=True),
        )
        extra = {
            "path_smooth": trial.suggest_float("path_smooth", 1e-2, 100, log=True),
            "max_bin": trial.suggest_categorical("max_bin", [63, 255]),
        }
        return params, extra

    def objective(trial: optuna.Trial) -> float:
        params, extra = space(trial)
        EXTRA.clear()
        EXTRA.update(extra)
        train = TrainModel(lgbm_trainer.LightGBMTrainer(), params, REVIEW_COST)
        try:  # the selection of `TrainModel.__call__` without its refit (not needed to rank a trial)
            return max(
                train._cross_validate(
                    data, strategy, params.with_scale_pos_weight(weight), lambda _: None, time.monotonic()
                )[0].oof_auprc
                for strategy, weight in imbalance_strategies(data.data)
            )
        finally:
            EXTRA.clear()

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(
        {
            "learning_rate": 0.1,
            "num_leaves": 15,
            "min_child_samples": 20,
            "min_sum_hessian_in_leaf": 1.0,
            "feature_fraction": 0.5,
            "bagging_fraction": 0.8,
            "lambda_l2": 10.0,
            "path_smooth": 0.01,
            "max_bin": 255,
        }
    )
    study.optimize(objective, n_trials=trials)
    params, extra = space(optuna.trial.FixedTrial(study.best_params))
    return params, extra, study.best_value


ET_SETTINGS = {  # chosen among on the pooled out-of-fold AUPRC
    "sqrt/leaf1": {"max_features": "sqrt", "min_samples_leaf": 1},
    "sqrt/leaf3": {"max_features": "sqrt", "min_samples_leaf": 3},
    "0.5/leaf1": {"max_features": 0.5, "min_samples_leaf": 1},
    "all/leaf1": {"max_features": 1.0, "min_samples_leaf": 1},
}


def et_candidates(
    data: FoldedData,
    test: LabelledData,
    pipe: Fitted,
    seed: int,
    results: dict[str, float],
    notes: dict[str, object],
    scores: dict[str, np.ndarray],
) -> None:
    """Extra trees (sklearn, 500 trees, seeded like the pipeline) alone and averaged with the pipeline."""
    from sklearn.ensemble import ExtraTreesClassifier

    y_oof, y_test = data.out_of_fold.labels, test.labels
    fits = {
        name: fit_forest(
            data,
            test,
            lambda kw=kw: ExtraTreesClassifier(500, n_jobs=2, random_state=seed, **kw),  # type: ignore[misc]
        )
        for name, kw in ET_SETTINGS.items()
    }
    default = fits["sqrt/leaf1"]
    results["ET default alone"] = average_precision(y_test, default.test)
    equal = 0.5 * expit(pipe.test) + 0.5 * expit(default.test)  # declared before any test figure
    results["pipeline+ET default, p 50/50"] = average_precision(y_test, equal)
    scores["pipeline+ET default, p 50/50"] = equal
    fitted, w = blend(pipe, default, y_oof, expit)
    results["pipeline+ET default, p w oof"] = average_precision(y_test, fitted.test)
    notes["w default"] = w
    chosen = max(fits, key=lambda name: fits[name].oof_auprc)
    notes["ET oof-chosen"] = chosen
    notes["ET oof"] = {name: round(f.oof_auprc, 4) for name, f in fits.items()}
    results["ET oof-chosen alone"] = average_precision(y_test, fits[chosen].test)
    equal = 0.5 * expit(pipe.test) + 0.5 * expit(fits[chosen].test)
    results["pipeline+ET oof-chosen, p 50/50"] = average_precision(y_test, equal)
    fitted, w = blend(pipe, fits[chosen], y_oof, expit)
    results["pipeline+ET oof-chosen, p w oof"] = average_precision(y_test, fitted.test)
    notes["w chosen"] = w


class LightGBMForest:
    """LightGBM's random-forest mode with extremely randomised splits, as a sklearn-like estimator: the
    same kind of averaging as sklearn's ExtraTrees, but a LightGBM booster (text model, lleaves, SHAP)."""

    def __init__(self, seed: int, leaves: int = 1024, bynode: float = 0.2) -> None:
        self.params = {
            "objective": "binary",
            "boosting": "rf",
            "extra_trees": True,
            "bagging_fraction": 0.9,
            "bagging_freq": 1,
            "feature_fraction_bynode": bynode,
            "num_leaves": leaves,
            "min_data_in_leaf": 1,
            "min_sum_hessian_in_leaf": 1e-6,
            "lambda_l2": 0.0,
            "seed": seed,
            "num_threads": 2,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def fit(self, features: pd.DataFrame, labels: np.ndarray) -> LightGBMForest:
        self.booster = lgb.train(self.params, lgb.Dataset(features, label=labels), num_boost_round=500)
        return self

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        p = np.asarray(self.booster.predict(features.to_numpy(dtype=np.float64)))
        return np.column_stack([1 - p, p])


def lgb_forest_candidates(
    data: FoldedData,
    test: LabelledData,
    pipe: Fitted,
    seed: int,
    results: dict[str, float],
    notes: dict[str, object],
    scores: dict[str, np.ndarray],
) -> None:
    y_test = data.out_of_fold.labels, test.labels
    forest = fit_forest(data, test, lambda: LightGBMForest(seed))
    results["LGB-rf-ET alone"] = average_precision(y_test[1], forest.test)
    equal = 0.5 * expit(pipe.test) + 0.5 * expit(forest.test)
    results["pipeline+LGB-rf-ET, p 50/50"] = average_precision(y_test[1], equal)
    scores["pipeline+LGB-rf-ET, p 50/50"] = equal
    fitted, w = blend(pipe, forest, y_test[0], expit)
    results["pipeline+LGB-rf-ET, p w oof"] = average_precision(y_test[1], fitted.test)
    notes["w LGB-rf-ET"] = w
    notes["LGB-rf-ET oof"] = round(forest.oof_auprc, 4)


def big_et_candidates(
    data: FoldedData,
    test: LabelledData,
    pipe: Fitted,
    seed: int,
    results: dict[str, float],
    scores: dict[str, np.ndarray],
) -> None:
    """2,000 extra trees (less seed variance than 500), alone and as an equal average with the pipeline."""
    from sklearn.ensemble import ExtraTreesClassifier

    forest = ExtraTreesClassifier(2_000, n_jobs=2, random_state=seed).fit(
        data.data.features, data.data.labels
    )
    p = forest.predict_proba(test.features)[:, 1]
    results["ET 2000 alone"] = average_precision(test.labels, p)
    equal = 0.5 * expit(pipe.test) + 0.5 * p
    results["pipeline+ET 2000, p 50/50"] = average_precision(test.labels, equal)
    scores["pipeline+ET 2000, p 50/50"] = equal


def lgb_forest_grid(
    data: FoldedData,
    test: LabelledData,
    pipe: Fitted,
    seed: int,
    results: dict[str, float],
    notes: dict[str, object],
) -> None:
    """The rf-mode forest's leaves and per-node feature share, and the blend weight, chosen together on
    the pooled out-of-fold AUPRC of the blend."""
    y_oof = data.out_of_fold.labels
    blends = {
        (leaves, bynode): blend(
            pipe,
            fit_forest(data, test, lambda leaves=leaves, bynode=bynode: LightGBMForest(seed, leaves, bynode)),
            y_oof,
            expit,
        )
        for leaves, bynode in ((1024, 0.2), (1024, 0.5), (64, 0.2), (64, 0.5))
    }
    chosen = max(blends, key=lambda key: blends[key][0].oof_auprc)
    results["pipeline+LGB-rf-ET grid, p w oof"] = average_precision(test.labels, blends[chosen][0].test)
    notes["LGB-rf grid chosen (leaves, bynode), w"] = (chosen, blends[chosen][1])


def paired_bootstrap(
    labels: np.ndarray, a: np.ndarray, b: np.ndarray, draws: int = 1_000
) -> tuple[float, float]:
    """95% interval of AUPRC(a) - AUPRC(b) over resamples of the scored rows (frauds and others apart)."""
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    diffs = []
    for _ in range(draws):
        rows = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        diffs.append(average_precision(labels[rows], a[rows]) - average_precision(labels[rows], b[rows]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--optuna-trials", type=int, default=0, help="an Optuna search of N trials (`pip install optuna`)"
    )
    parser.add_argument("--lgbrf", action="store_true", help="LightGBM rf-mode extra-trees blends")
    parser.add_argument("--lgbrf-grid", action="store_true", help="rf-mode settings chosen out of fold")
    parser.add_argument("--et-big", action="store_true", help="2,000 extra trees, equal average")
    parser.add_argument("--et", action="store_true", help="extra-trees blends, settings chosen out of fold")
    parser.add_argument("--forest", action="store_true", help="blends with a random forest / extra trees")
    parser.add_argument("--grid", action="store_true", help="also path_smooth / min hessian / DART variants")
    options = parser.parse_args()
    if options.optuna_trials:
        try:
            import optuna  # noqa: F401  (not a dependency of the project)
        except ModuleNotFoundError:
            parser.error("--optuna-trials needs optuna, which is not a dependency: `pip install optuna`")
    frame = check_transactions(FileTransactionSource().read(str(options.source)), str(options.source))
    first, second = halves(frame)
    rows: list[dict[str, object]] = []
    for direction, (train, test_frame) in enumerate(((first, second), (second, first)), start=1):
        base = baselines(train, test_frame)
        fit = labelled(train)
        best_baseline_scores = (
            lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, verbose=-1)
            .fit(fit.features, fit.labels)
            .predict_proba(labelled(test_frame).features)[:, 1]
        )
        data = FoldedData.of(time_ordered_folds(train, FoldPolicy()))
        test = labelled(test_frame)
        y_oof, y_test = data.out_of_fold.labels, test.labels
        lr = fit_lr(data, test)
        print(f"direction {direction}: baselines {base}; LR oof {lr.oof_auprc:.4f}", flush=True)
        forests = {}
        if options.forest:
            from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

            forests = {
                "RF": fit_forest(data, test, lambda: RandomForestClassifier(500, n_jobs=2, random_state=0)),
                "ET": fit_forest(data, test, lambda: ExtraTreesClassifier(500, n_jobs=2, random_state=0)),
            }
            base |= {f"{k} alone": average_precision(test.labels, f.test) for k, f in forests.items()}
            print({f"{k} oof": round(f.oof_auprc, 4) for k, f in forests.items()}, flush=True)
        if options.optuna_trials:  # searched once per direction (sampler and training seed: the first seed)
            started = time.perf_counter()
            tuned_params, tuned_extra, tuned_oof = optuna_params(
                data, options.seeds[0], options.optuna_trials
            )
            print(
                f"  optuna ({time.perf_counter() - started:.0f} s): best pooled oof {tuned_oof:.4f} with "
                f"{tuned_params} {tuned_extra}",
                flush=True,
            )
        for seed in options.seeds:
            started = time.perf_counter()
            params = TrainingParams(seed=seed)
            results: dict[str, float] = {}
            notes: dict[str, object] = {}
            pipe = fit_pipeline(data, test, params)
            results["pipeline"] = average_precision(y_test, pipe.test)
            scores: dict[str, np.ndarray] = {"pipeline": pipe.test}
            for name, transform in (
                ("blend LR logit", lambda x: x),
                ("blend LR rank (diag.)", ranks),
            ):
                fitted, w = blend(pipe, lr, y_oof, transform)
                results[name] = average_precision(y_test, fitted.test)
                notes[name] = w
            # z-scored logits (scale of each from its own out-of-fold scores)
            zp, zl = zscore_by_oof(pipe.oof), zscore_by_oof(lr.oof)
            zpipe = Fitted(zp(pipe.oof), zp(pipe.test), pipe.oof_auprc)
            zlr = Fitted(zl(lr.oof), zl(lr.test), lr.oof_auprc)
            fitted, w = blend(zpipe, zlr, y_oof, lambda x: x)
            results["blend LR z-logit"] = average_precision(y_test, fitted.test)
            notes["blend LR z-logit"] = w
            for name, forest in forests.items():
                for scale, transform in (("prob", expit), ("logit", lambda x: x)):
                    fitted, w = blend(pipe, forest, y_oof, transform)
                    results[f"blend {name} {scale}"] = average_precision(y_test, fitted.test)
                    notes[f"blend {name} {scale}"] = w
            if options.lgbrf:
                lgb_forest_candidates(data, test, pipe, seed, results, notes, scores)
            if options.lgbrf_grid:
                lgb_forest_grid(data, test, pipe, seed, results, notes)
            if options.et_big:
                big_et_candidates(data, test, pipe, seed, results, scores)
            if options.et:
                et_candidates(data, test, pipe, seed, results, notes, scores)
            if options.grid:
                variants: dict[str, tuple[TrainingParams, dict[str, object]]] = {
                    "path_smooth 10": (params, {"path_smooth": 10.0}),
                    "path_smooth 50": (params, {"path_smooth": 50.0}),
                    "min_hessian 5": (replace(params, min_sum_hessian_in_leaf=5.0), {}),
                    "max_bin 63": (params, {"max_bin": 63}),
                    "leaves 4 (depth 2)": (replace(params, num_leaves=4), {}),
                }
                fits = {name: fit_pipeline(data, test, p, e) for name, (p, e) in variants.items()}
                for name, f in fits.items():
                    results[name] = average_precision(y_test, f.test)
                    notes[name + " oof"] = round(f.oof_auprc, 4)
                best = max([("pipeline", pipe), *fits.items()], key=lambda kv: kv[1].oof_auprc)
                results["grid: oof-chosen"] = average_precision(y_test, best[1].test)
                notes["grid: oof-chosen"] = best[0]
                fitted, w = blend(best[1], lr, y_oof, lambda x: x)
                results["grid oof-chosen + LR logit"] = average_precision(y_test, fitted.test)
                notes["grid oof-chosen + LR logit"] = w
            if options.optuna_trials:
                tuned = fit_pipeline(data, test, replace(tuned_params, seed=seed), tuned_extra)
                results["optuna"] = average_precision(y_test, tuned.test)
                notes["optuna oof"] = round(tuned.oof_auprc, 4)
                fitted, w = blend(tuned, lr, y_oof, lambda x: x)
                results["optuna + LR logit"] = average_precision(y_test, fitted.test)
                notes["optuna + LR logit"] = w
            for name, values in scores.items():
                low, high = paired_bootstrap(y_test, values, best_baseline_scores)
                notes[f"95% CI {name} - LGBM(300,0.05)"] = (round(low, 4), round(high, 4))
            print(
                f"  seed {seed} ({time.perf_counter() - started:.0f} s): "
                + ", ".join(f"{k} {v:.4f}" for k, v in results.items())
                + f"\n    notes: {notes}",
                flush=True,
            )
            rows.append({"direction": direction, "seed": seed} | results | base)
    table = pd.DataFrame(rows)
    columns = [c for c in table.columns if c not in ("direction", "seed")]
    means = table[columns].mean()
    best_base = max(BASELINES, key=lambda name: means[name])
    per_direction = table.groupby("direction")[columns].mean()
    print(f"\nbest baseline: {best_base} {means[best_base]:.4f}")
    print(f"{'candidate':<30} {'mean':>7} {'dir 1':>7} {'dir 2':>7} {'margin':>8}")
    for name in columns:
        print(
            f"{name:<30} {means[name]:7.4f} {per_direction.loc[1, name]:7.4f} "
            f"{per_direction.loc[2, name]:7.4f} {means[name] - means[best_base]:+8.4f}"
        )


if __name__ == "__main__":
    main()
