"""Text a caller has recorded or logged (a reason, a job's location or model): one line, no control
characters.

A line break in a job's `input_uri` wrote a line of the caller's choosing into the API's log (a forged
`CRITICAL ... admin token rotated`), a NUL in a retrain reason failed the launch with a 500 after its event
was logged, and a NUL in a log makes grep treat it as binary. Such text is refused where it comes in;
text the system only relays (an Alertmanager summary) is flattened to one line instead.
"""

from __future__ import annotations

import re

# Unicode's control characters (category Cc): C0, DEL and C1. Tabs and line breaks included.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same rule as a JSON Schema `pattern`, for the API's OpenAPI document (its clients and fuzzers).
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"


def control_character_problem(text: str) -> str | None:
    """What is wrong with `text`, or None: names the first control character by its code point."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"holds a control character (U+{ord(found.group()):04X}) at character {found.start() + 1}: "
        "one line of printable text"
    )


def one_line(text: str) -> str:
    """`text` with each control character as a space (text relayed, not the caller's own)."""
    return _CONTROL.sub(" ", text)
