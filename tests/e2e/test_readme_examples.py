"""The README's shell examples, run as written: every ```bash block is executed unless an HTML comment right
before it says why it cannot run here (`<!-- readme-test: skip (needs AWS) -->`), so a new example is tested
by default and the skip list is reviewed with the README.

The runnable blocks share one shell session in README order (a variable a block sets, such as `KEY`, reaches
the next), one FRAUD_HOME holding the pipeline-trained v1 (champion) and v2 (challenger) of two `make run`s,
and one `fraud serve` on a free port, which replaces the README's `localhost:8000`. The working folder holds
that home as `.fraud`, the default FRAUD_HOME. A failure names the README line of the failing command.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fraud_detection.domain.clients import ClientDirectory
from tests.api_clients import write_clients
from tests.e2e.serving import TOKEN, Server, copy_home, serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_LANGUAGES = {"bash", "sh", "shell"}
SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->$")
FENCE = re.compile(r"^```(?P<language>[\w-]*)\s*$")
# Commands this test can run here; anything else needs the block marked as skipped, with the reason.
RUNNABLE = {"fraud", "curl", "printf", "python"}
README_PORT = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")
# Bash's own line numbers start after this prelude; the ERR trap maps them back to README lines.
PRELUDE = """\
set -a  # every assignment reaches the next block, as in one interactive session
if [ -f "$README_STATE" ]; then . "$README_STATE"; fi
set -eo pipefail
# An HTTP error fails the example. A few retries a second apart: a running API knows a client made just
# before within a second, and a scored id reaches the feedback store within about a second (README).
curl() {
  local try status=0
  for try in 1 2 3 4 5; do
    command curl --silent --show-error --fail-with-body --max-time 60 "$@" && { echo; return 0; }
    status=$?; sleep 1
  done
  return $status
}
trap 'status=$?; echo "README line $((LINENO + {offset})): exit $status" >&2; exit $status' ERR
"""


@dataclass(frozen=True)
class Example:
    section: str
    line: int  # README line of the block's first line of code
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{re.sub(r'[^a-z0-9]+', '-', self.section.lower()).strip('-')}-L{self.line}"


def parse_examples(text: str) -> list[Example]:
    """Every shell block, with its section and whether a skip marker stands on the line before its fence."""
    examples: list[Example] = []
    lines = text.splitlines()
    section, index = "top", 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            if lines[index].startswith("#"):
                section = lines[index].lstrip("#").strip()
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        if fence["language"] in SHELL_LANGUAGES:
            before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            marker = SKIP.match(before.strip())
            code = "\n".join(lines[index + 1 : end])
            examples.append(Example(section, index + 2, code, marker["why"] if marker else None))
        index = end + 1
    return examples


def commands(example: Example) -> Iterator[tuple[int, str]]:
    """(README line, program) of each command: continued and multi-line quoted commands count once."""
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(example.code.splitlines()):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        start = start if pending else example.line + offset
        pending.append(raw)
        joined = "\n".join(pending)
        if joined.rstrip().endswith("\\"):
            continue
        try:
            words = shlex.split(joined, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        pending = []
        for part in " ".join(words).split("&&"):
            yield start, program(part.split())


def program(words: list[str]) -> str:
    """The program a command runs, past `NAME=value` prefixes; `KEY=$(fraud ...)` runs `fraud`."""
    for word in words:
        name, equals, value = word.partition("=")
        if equals and re.fullmatch(r"[A-Za-z_]\w*", name):
            if value.startswith("$("):
                return value[2:]
            continue
        return word
    return ""


EXAMPLES = parse_examples(README.read_text())


def test_the_readme_has_runnable_and_skipped_examples() -> None:
    """The parser finds the blocks: a README reformatted out of its reach must not pass by running nothing."""
    assert sum(e.skip is None for e in EXAMPLES) >= 5
    assert sum(e.skip is not None for e in EXAMPLES) >= 3


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.skip is None], ids=lambda e: e.id)
def test_every_unmarked_example_uses_commands_this_test_runs(example: Example) -> None:
    foreign = [f"README line {line}: `{name}`" for line, name in commands(example) if name not in RUNNABLE]
    assert not foreign, (
        f"{', '.join(foreign)} cannot run in this test ({sorted(RUNNABLE)}): put "
        "`<!-- readme-test: skip (why) -->` on the line before the block, or make the example runnable"
    )


@dataclass
class Session:
    folder: Path
    env: dict[str, str]
    server: Server

    def run(self, example: Example) -> subprocess.CompletedProcess[str]:
        code = README_PORT.sub(self.server.url.removeprefix("http://"), example.code)
        offset = example.line - (PRELUDE.count("\n") + 1)
        script = PRELUDE.replace("{offset}", str(offset)) + code + '\nexport -p > "$README_STATE"\n'
        return subprocess.run(
            ["bash", "-c", script],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def session(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    folder = tmp_path_factory.mktemp("readme")
    cli = copy_home(trained_home, folder / ".fraud")
    write_clients(cli.home, ClientDirectory(()))  # none yet: the README's `fraud clients add` makes them
    with serve(cli) as server:
        env = cli.env | {
            "PATH": f"{Path(sys.executable).parent}:{cli.env.get('PATH', '/usr/bin:/bin')}",
            "FRAUD_ADMIN_TOKEN": TOKEN,
            "README_STATE": str(folder / "state.sh"),
        }
        yield Session(folder, env, server)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.skip is None], ids=lambda e: e.id)
def test_readme_example_runs(session: Session, example: Example) -> None:
    result = session.run(example)
    assert result.returncode == 0, (
        f"README example of '{example.section}' (line {example.line}) failed:\n{result.stderr[-3000:]}"
        f"\n--- stdout ---\n{result.stdout[-2000:]}"
    )
