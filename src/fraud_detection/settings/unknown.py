"""`FRAUD_*` variables that are not settings but look meant as one: a misspelt or retired name.

pydantic-settings ignores variables it does not know (other tools share the prefix: `FRAUD_IMAGE_TAG`,
`FRAUD_REAL_SAMPLE`, `FRAUD_STACK_*`), so `FRAUD_PROMOTION_METRC=precision` would run with the default metric
and nobody would notice. Only names within a small edit of a setting, or retired ones, are refused, so the
prefix stays open to other tooling.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

PREFIX = "FRAUD_"
# A ratio of 0.85 is about one edit in a name of this length (`FRAUD_ADMINTOKEN`, `FRAUD_MODEL_POLL_SECOND`);
# measured on every `FRAUD_*` name the repository's other tooling uses: none comes near a setting.
SIMILARITY = 0.85
RETIRED = {
    "FRAUD_TRAIN_FRACTION": "FRAUD_FIRST_FIT_FRACTION and FRAUD_TRAIN_FOLDS",
    "FRAUD_VALID_FRACTION": "FRAUD_FIRST_FIT_FRACTION and FRAUD_TRAIN_FOLDS",
}


def field_variables(name: str, field: FieldInfo) -> list[str]:
    """The environment variables a settings field is read from, the documented one first."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"{PREFIX}{name.upper()}"]


def setting_variables() -> set[str]:
    """Every environment variable a setting is read from (all of an alias's choices)."""
    from fraud_detection.settings import Settings

    return {
        variable for name, field in Settings.model_fields.items() for variable in field_variables(name, field)
    }


def unknown_setting_problems(environment: Mapping[str, str], settings: Iterable[str]) -> list[str]:
    """One problem per variable that is retired or a near miss of a setting, naming what to set instead."""
    known = {name.upper() for name in settings}
    problems = []
    for name in sorted(environment):
        variable = name.upper()  # pydantic-settings reads the environment case-insensitively
        if not variable.startswith(PREFIX) or variable in known:
            continue
        if variable in RETIRED:
            problems.append(f"{name}: no longer a setting; use {RETIRED[variable]}")
            continue
        close = difflib.get_close_matches(variable, known, n=1, cutoff=SIMILARITY)
        if close:
            problems.append(f"{name}: not a setting (did you mean {close[0]}?)")
    return problems
