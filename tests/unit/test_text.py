"""One line of printable text: the rule for what callers record and the logs repeat."""

from __future__ import annotations

import pytest

from fraud_detection.domain.text import control_character_problem, one_line


@pytest.mark.parametrize(
    ("text", "code", "at"),
    [("a\nb", "000A", 2), ("\x00", "0000", 1), ("tab\there", "0009", 4), ("del\x7f", "007F", 4),
     ("c1\x85", "0085", 3)],
)  # fmt: skip
def test_a_control_character_is_named_by_code_point_and_place(text: str, code: str, at: int) -> None:
    assert control_character_problem(text) == (
        f"holds a control character (U+{code}) at character {at}: one line of printable text"
    )


@pytest.mark.parametrize("text", ["drift on V14", "s3://lake/in/día.csv", "é€ 🙂", ""])
def test_printable_text_of_any_script_passes(text: str) -> None:
    assert control_character_problem(text) is None


def test_relayed_text_is_flattened_to_one_line() -> None:
    assert one_line("CanaryErrors: error rate\n5%\r\x00") == "CanaryErrors: error rate 5%  "
