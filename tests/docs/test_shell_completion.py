"""The README's shell completion lines work: bash (and zsh, fish) load the script olgraph prints,
and completing what a user types gives the commands and choices the README promises.

The lines are taken from README.md ("Shell completion"); bash runs the bash one for real and
calls the completion function as readline would on <Tab>.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_readme import REPO, section_blocks

BIN = Path(sys.executable).parent


def _readme_lines() -> dict[str, str]:
    (block,) = section_blocks("Shell completion", "bash")
    lines = {}
    for line in block.text.splitlines():
        command, _, comment = line.partition("#")
        lines[comment.strip().split(":")[0]] = command.strip()
    return lines


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "_OLGRAPH"))}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def _complete_in_bash(words: list[str]) -> list[str]:
    """What bash offers on <Tab> after ``words`` (the last one being completed)."""
    script = "\n".join(
        [
            _readme_lines()["bash"],
            f"COMP_WORDS=({' '.join(words)})",
            f"COMP_CWORD={len(words) - 1}",
            '_olgraph_completion olgraph; printf "%s\\n" "${COMPREPLY[@]}"',
        ]
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_readme_names_bash_zsh_and_fish() -> None:
    assert sorted(_readme_lines()) == ["bash", "fish", "zsh"]


@pytest.mark.skipif(not (BIN / "olgraph").exists(), reason="olgraph is not installed as a command")
def test_bash_completes_commands_and_choices_as_the_readme_says() -> None:
    assert _complete_in_bash(["olgraph", "ser"]) == ["serve", "services"]
    assert _complete_in_bash(["olgraph", "impact", "--format", "''"]) == ["table", "json", "csv", "ndjson"]
    assert "--neo4j-create-schema" in _complete_in_bash(["olgraph", "serve", "--neo4j-"])


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_the_other_shells_get_a_completion_script(shell: str) -> None:
    command = _readme_lines()[shell]
    variable = command.split("$(")[-1].split()[0] if shell == "zsh" else command.split()[0]
    name, _, value = variable.partition("=")
    result = subprocess.run(
        [str(BIN / "olgraph")],
        capture_output=True,
        text=True,
        env=_env() | {name: value},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "_olgraph_completion" in result.stdout.replace("-", "_")
    if shutil.which(shell):
        check = ["zsh", "-n"] if shell == "zsh" else ["fish", "--no-execute"]
        assert subprocess.run([*check], input=result.stdout, text=True, check=False).returncode == 0
