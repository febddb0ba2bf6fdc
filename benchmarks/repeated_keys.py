"""What refusing repeated JSON keys costs a scoring body: pydantic's parse alone (the baseline) against the
parse plus `refuse_repeated_keys`, for one transaction and a 10,000-row batch, with plain ids and with ids
holding colons (both settled by the count), and with an escape in an id (the exact pass runs), next to the
design it replaced on paper (`json.loads` with an `object_pairs_hook` on every body). Best of N timings
each, same run.

    .venv/bin/python benchmarks/repeated_keys.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from typing import Any

from fraud_detection.composition import Container
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.entrypoints.api.repeated_keys import fields_and_colons, refuse_repeated_keys
from fraud_detection.entrypoints.api.routes.scoring import batch_model
from fraud_detection.entrypoints.api.schemas import transaction_model
from fraud_detection.settings import Settings


def body(transaction_id: str) -> dict[str, Any]:
    return {name: 0.123456 for name in V_COLUMNS} | {
        "Amount": 42.5,
        "Time": 1000.0,
        "transaction_id": transaction_id,
    }


def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("repeated key")
    return dict(pairs)


def best(call: Callable[[], object], number: int, repeats: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeats)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    single_model = transaction_model(Container(Settings()).adapters.scoring_input())
    many_model = batch_model(10_000, single_model)
    cases = {
        "single": (single_model, lambda tid: json.dumps(body(tid)).encode(), 20_000),
        "batch 10k": (
            many_model,
            lambda tid: json.dumps({"transactions": [body(f"{tid}{i}") for i in range(10_000)]}).encode(),
            3,
        ),
    }
    print(f"{'body':<10} {'ids':<12} {'parse':>10} {'+ check':>10} {'ratio':>6} {'+ hook (old plan)':>18}")
    for name, (model, make, number) in cases.items():
        for ids, prefix in (("plain", "tx-"), ("with colons", "order:7:"), ("escaped", "order:8:")):
            raw = make(prefix)
            if ids == "escaped":  # the same colon, written as JSON's escape
                raw = raw.replace(b"order:8:", b"order\\u003a8\\u003a")

            def parse(raw: bytes = raw, model: Any = model) -> Any:
                return model.model_validate_json(raw)

            def checked(raw: bytes = raw, model: Any = model, single: bool = name == "single") -> None:
                parsed = model.model_validate_json(raw)
                if single:  # as the routes call it
                    colons = parsed.transaction_id.count(":") if parsed.transaction_id else 0
                    refuse_repeated_keys(raw, len(parsed.model_fields_set), colons)
                else:
                    fields, colons = fields_and_colons(parsed.transactions)
                    refuse_repeated_keys(raw, len(parsed.model_fields_set) + fields, colons)

            def hooked(raw: bytes = raw, model: Any = model) -> None:
                model.model_validate_json(raw)
                json.loads(raw, object_pairs_hook=no_repeats)

            base = best(parse, number, args.repeats)
            check = best(checked, number, args.repeats)
            hook = best(hooked, number, args.repeats)
            unit, scale = ("us", 1e6) if name == "single" else ("ms", 1e3)
            print(
                f"{name:<10} {ids:<12} {base * scale:>8.2f}{unit} {check * scale:>8.2f}{unit} "
                f"{check / base:>5.2f}x {hook * scale:>9.2f}{unit} ({hook / base:.2f}x)"
            )


if __name__ == "__main__":
    main()
