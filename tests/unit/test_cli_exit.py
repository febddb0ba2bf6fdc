"""`fraud`'s entry point skips the interpreter's last full garbage collection, however the command ends."""

from __future__ import annotations

import gc
import signal
from collections.abc import Iterator

import pytest

from fraud_detection.entrypoints.cli import app as cli_app


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    before = signal.getsignal(signal.SIGTERM)  # main() installs its SIGTERM handler: not for the test runner
    yield
    signal.signal(signal.SIGTERM, before)
    gc.unfreeze()


@pytest.mark.parametrize("ending", [SystemExit(0), SystemExit(2)], ids=repr)
def test_every_ending_freezes_the_heap_and_keeps_its_exit(
    monkeypatch: pytest.MonkeyPatch, ending: BaseException
) -> None:
    def command() -> None:
        raise ending

    monkeypatch.setattr(cli_app, "app", command)
    with pytest.raises(type(ending)) as raised:
        cli_app.main()
    assert raised.value is ending  # the exit code is the command's, untouched
    assert gc.get_freeze_count() > 0


def test_an_interrupt_outside_a_command_exits_130_with_the_heap_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def command() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_app, "app", command)
    with pytest.raises(SystemExit) as raised:
        cli_app.main()
    assert raised.value.code == 130
    assert gc.get_freeze_count() > 0
