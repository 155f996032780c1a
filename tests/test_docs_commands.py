"""Every shell command the README and docs/ show runs as written, from a clean copy after the set-up.

The commands are read from the Markdown (every fenced ``bash`` block of README.md and docs/*.md), so this
test breaks when the docs change. Each block runs in one bash session in a fresh copy of the checkout,
the way a reader types it (``source`` carries over to the next line), in an environment without AWS
credentials or Airflow settings; a command fails the test on a non-zero exit status or a traceback in
its output (a command shown failing on purpose, in ``EXPECTED_FAILURES``, on any other exit status or
without its message). Commands that cannot run here are listed in ``SKIPPED`` with the reason, and every entry of
that list must still match a command of the docs.

The set-up ("scripts/demo.sh" then "scripts/test.sh") is what this test starts from: the fixture runs
the demo's first step (the stand-in, Airflow's DB and the account index the generator ship writes),
which is all the commands read; tests/test_demo.py runs the demo end to end. Two faithful substitutions:
``scripts/demo.sh ARGS`` runs as ``python -m starfleet_airflow.devtools.demo ARGS --port N`` (what the
script execs after its .venv step, which would re-point this worktree's shared .venv at the copy; and
port 5000 belongs to whichever demo already runs on this shared machine), and the copy's code comes
first on PYTHONPATH, since the .venv's editable install points at the original checkout.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from starfleet_airflow.devtools.stand_in.ports import free_port

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(?:bash|sh|shell)\s*\n(?P<body>.*?)^```", re.M | re.S)

# Command prefix -> why it does not run here (the longest matching prefix wins).
SKIPPED = {
    "scripts/test.sh": "the test suite itself, which this test is part of",
    "scripts/demo.sh --serve": "the whole demo again, then a server until Ctrl-C; test_demo.py runs the demo and"
    " `--serve --skip-runs` runs here",
    "scripts/demo.sh": "the set-up: this test starts from its result (the fixture runs its first step, which writes"
    " the account index); tests/test_demo.py runs the demo end to end",
    "source .starfleet/demo-env.sh && airflow standalone": "Airflow's UI server, until Ctrl-C:"
    " tests/test_demo_ui.py starts it on the demo's setup and checks the UI in a browser",
    "python -m starfleet_airflow.tools.mwaa build --config-dir path/to/production/config": "a placeholder for your"
    " production configuration; the README's `mwaa build` of the embedded default runs",
    "BUCKET=": "the MWAA upload: needs an Amazon MWAA environment and its S3 bucket",
    "aws s3 ": "the MWAA upload: needs an Amazon MWAA environment and its S3 bucket",
    "aws mwaa ": "updates an Amazon MWAA environment: needs an AWS account",
    "scripts/check_mwaa_bundle.sh": "CI runs it before the suite (.ci/run); it builds its own Airflow virtualenv",
    "docker compose": "needs a Docker engine, which these machines do not have (docs/docker-compose.md)",
    "scripts/stack.sh": "the production-shaped stack (PostgreSQL, Redis, Celery workers, a heavy job on these"
    " machines): `.ci/run` runs scripts/e2e.sh, which brings it up, tests it (tests/e2e) and takes it down",
    "flock /tmp/heavy.lock .venv/bin/python scripts/benchmark.py": "the benchmarks (~6 min), a heavy job that waits"
    " for the machine's lock, which the test suite already holds; they print figures, nothing gates on them",
    ".venv/bin/python scripts/benchmark.py": "benchmark sections (minutes each; `--stack` needs the running stack):"
    " they print figures, nothing gates on them",
    "scripts/e2e.sh": "the stack's end-to-end suite: `.ci/run` runs it under the machine's heavy-job lock",
    "starfleet-airflow starfleet ": "a Starfleet ship's own click command: the embedded default has no such ship"
    " (its `t.yaml` is yours); tests/test_starfleet_ships.py runs Starfleet-style ships' commands",
}
# Commands the docs show failing on purpose: their exit status, and what their output must name.
EXPECTED_FAILURES = {
    "starfleet-airflow validate --executor CeleryExecutor": (1, "STARFLEET.SnapshotLocation: "),
}
# Commands that serve until stopped: started in the background, then the block goes on once they are ready.
BACKGROUND = {"scripts/demo.sh --serve --skip-runs": "serving the AWS stand-in until Ctrl-C"}


@dataclass(frozen=True)
class Command:
    doc: str
    block: int
    text: str

    @property
    def skipped(self) -> str | None:
        for prefix in sorted(SKIPPED, key=len, reverse=True):
            if self.text.startswith(prefix) and not any(self.text.startswith(b) for b in BACKGROUND):
                return SKIPPED[prefix]
        return None


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` outside quotes, at the start or after a space)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def shell_blocks(path: Path) -> list[list[str]]:
    """The commands of each fenced shell block of a Markdown file (continuations joined, comments dropped)."""
    blocks = []
    for match in BLOCK.finditer(path.read_text(encoding="utf-8")):
        commands, pending = [], ""
        for raw in match["body"].splitlines():
            line = pending + raw
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1] + " "
                continue
            pending = ""
            command = " ".join(_strip_comment(line).split())
            if command:
                commands.append(command)
        blocks.append(commands)
    return blocks


def documented_commands() -> list[list[Command]]:
    found = []
    for doc in DOCS:
        for number, block in enumerate(shell_blocks(doc)):
            found.append([Command(doc.relative_to(REPO).as_posix(), number, text) for text in block])
    return found


BLOCKS = [block for block in documented_commands() if block]


def _clean_environment(checkout: Path) -> dict[str, str]:
    """A new shell's environment: no AWS credentials, no Airflow or starfleet settings, no .venv on PATH."""
    dropped = ("AWS_", "AIRFLOW", "STARFLEET_", "VIRTUAL_ENV", "PYTHONPATH", "HTTP_PROXY", "http_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["PYTHONPATH"] = str(checkout)
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    return env


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of this checkout after the set-up: the .venv, and what the demo's first step leaves."""
    root = tmp_path_factory.mktemp("docs-commands") / "starfleet-airflow"
    ignored = shutil.ignore_patterns(
        ".git", ".venv", ".starfleet", "build", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache"
    )
    shutil.copytree(REPO, root, ignore=ignored)
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    setup = [sys.executable, "-m", "starfleet_airflow.devtools.demo", "--ships", "AccountIndexGeneratorShip"]
    done = subprocess.run(
        [*setup, "--port", str(free_port())],
        cwd=root,
        env=_clean_environment(root),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (root / ".starfleet" / "accountIndex.json").is_file()
    return root


def _as_run_here(text: str, port: int) -> str:
    """``scripts/demo.sh ARGS`` -> the module it execs, on a free port (see the module docstring)."""
    if text.startswith("scripts/demo.sh"):
        return f"{shlex.quote(sys.executable)} -m starfleet_airflow.devtools.demo{text[len('scripts/demo.sh') :]}" + (
            f" --port {port}"
        )
    return text


def _script(block: list[Command], work: Path, checkout: Path) -> str:
    """One bash session for the block: each command's output and exit status to files, servers stopped."""
    lines = ["cd " + shlex.quote(str(checkout)), "servers=()"]
    for number, command in enumerate(block):
        if command.skipped:
            continue
        text = _as_run_here(command.text, free_port())
        out, err, rc = (shlex.quote(str(work / f"{number}.{kind}")) for kind in ("out", "err", "rc"))
        ready = next((line for prefix, line in BACKGROUND.items() if command.text.startswith(prefix)), None)
        if ready:
            lines += [
                f"{text} >{out} 2>{err} & servers+=($!)",
                f"for _ in $(seq 180); do grep -q {shlex.quote(ready)} {out} && break; sleep 1; done",
                f"grep -q {shlex.quote(ready)} {out}; echo $? >{rc}",
            ]
        else:
            lines += [f"{{ {text} ; }} >{out} 2>{err}", f"echo $? >{rc}"]
    lines += ['for pid in "${servers[@]}"; do kill "$pid"; wait "$pid"; done', "exit 0"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b[0].doc}#{b[0].block}" for b in BLOCKS])
def test_the_documented_commands_run_as_written(block: list[Command], checkout: Path) -> None:
    work = checkout.parent / f"run-{block[0].doc.replace('/', '_')}-{block[0].block}"
    work.mkdir()
    script = work / "block.sh"
    script.write_text(_script(block, work, checkout), encoding="utf-8")
    subprocess.run(["bash", str(script)], env=_clean_environment(checkout), timeout=900, check=True)
    problems = []
    for number, command in enumerate(block):
        if command.skipped:
            continue
        rc = (work / f"{number}.rc").read_text().strip()
        output = (work / f"{number}.out").read_text(errors="replace") + (work / f"{number}.err").read_text(
            errors="replace"
        )
        wanted_rc, wanted_text = EXPECTED_FAILURES.get(command.text, (0, ""))
        if rc != str(wanted_rc) or wanted_text not in output or "Traceback (most recent call last)" in output:
            problems.append(f"{command.doc}: `{command.text}` -> exit {rc} (expected {wanted_rc})\n{output[-2000:]}")
    assert not problems, "\n\n".join(problems)


def test_every_skipped_command_is_listed_with_its_reason_and_still_documented() -> None:
    commands = [command for block in BLOCKS for command in block]
    skipped = {command.text: command.skipped for command in commands if command.skipped}
    assert all(reason and len(reason) > 20 for reason in skipped.values())
    stale = [prefix for prefix in SKIPPED if not any(text.startswith(prefix) for text in skipped)]
    assert stale == [], f"SKIPPED names commands the docs no longer show: {stale}"
    ran = [command.text for command in commands if not command.skipped]
    assert any(text.startswith("starfleet-airflow run ") for text in ran)  # the stand-in's commands do run
    assert any(" | head" in text for text in ran)
