"""The README's examples run, and say what really happens.

Everything is taken from README.md itself (its fenced blocks and the "Other endpoints" list),
never copied here: the curl body, the openlineage-python snippet and the environment it
exports, the "Ask the graph" queries and commands. They run against a real ``olgraph serve``
(the README's ``http://127.0.0.1:5000`` is replaced by the test server's address, and
``.venv/bin/olgraph`` by ``python -m olgraph``), and the answers must be the ones the README
shows or implies.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import io
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from olgraph.config import Settings

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
README_URL = "http://127.0.0.1:5000"
README_CLI = ".venv/bin/olgraph"
CLI_TIMEOUT = 60.0


def _load_e2e_support() -> Any:
    """tests/e2e/e2e_support.py as a module of its own: its server and proxy helpers serve here too."""
    name = "olgraph_e2e_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "e2e" / "e2e_support.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


E2E = _load_e2e_support()

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One fenced block of the README and the ``## `` section it is in."""

    section: str
    lang: str
    text: str


def readme_blocks() -> list[Block]:
    """Every fenced block of the README, in order."""
    blocks = []
    for part in re.split(r"^## ", README.read_text(), flags=re.MULTILINE)[1:]:
        title = part.splitlines()[0].strip()
        blocks += [Block(title, m.group(1), m.group(2)) for m in _FENCE.finditer(part)]
    return blocks


def section_blocks(section: str, lang: str) -> list[Block]:
    found = [b for b in readme_blocks() if b.section == section and b.lang == lang]
    assert found, f"README has no {lang} block in section {section!r}"
    return found


# --- what the README says -----------------------------------------------------------------


@dataclass(frozen=True)
class CurlPost:
    """The README's curl POST: where, which headers, what body, and the answer it shows."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    answer: dict[str, Any]


def readme_curl_post() -> CurlPost:
    block = next(b for b in section_blocks("Send a first event", "bash") if "curl" in b.text)
    command, _, comment = block.text.partition("# →")
    words = shlex.split(command.replace("\\\n", " "))
    url = next(w for w in words if w.startswith("http"))
    headers: dict[str, str] = {}
    for flag, value in itertools.pairwise(words):
        if flag == "-H":
            name, _, header_value = value.partition(":")
            headers[name.strip()] = header_value.strip()
    body = json.loads(words[words.index("-d") + 1])
    status, _, shown = comment.strip().partition(" ")
    # The answer is shown abbreviated ("{"status":"accepted",...}"): keep what is spelled out.
    answer = json.loads(shown.replace(",...}", "}"))
    return CurlPost(url.removeprefix(README_URL), headers, body, int(status), answer)


def readme_client_env() -> dict[str, str]:
    """The ``export`` lines (not commented out) of the block before the Python snippet."""
    block = next(b for b in section_blocks("Send a first event", "bash") if "export" in b.text)
    env = {}
    for line in block.text.splitlines():
        if line.startswith("export "):
            for assignment in shlex.split(line, comments=True)[1:]:
                name, _, value = assignment.partition("=")
                env[name] = value
    assert env, "README exports no client environment"
    return env


def readme_python_snippet() -> str:
    (block,) = section_blocks("Send a first event", "python")
    return block.text


@dataclass(frozen=True)
class SnippetEvent:
    """The job and datasets the Python snippet's RunEvent names (read from its syntax tree)."""

    job: str
    inputs: list[str]
    outputs: list[str]


def snippet_event(snippet: str) -> SnippetEvent:
    def kwargs(call: ast.Call) -> dict[str, ast.expr]:
        return {k.arg: k.value for k in call.keywords if k.arg}

    def literal_key(kind: str, node: ast.expr) -> str:
        assert isinstance(node, ast.Call)
        args = kwargs(node)
        return f"{kind}:{ast.literal_eval(args['namespace'])}:{ast.literal_eval(args['name'])}"

    def datasets(node: ast.expr) -> list[str]:
        assert isinstance(node, ast.List)
        return [literal_key("dataset", element) for element in node.elts]

    for node in ast.walk(ast.parse(snippet)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RunEvent":
            args = kwargs(node)
            return SnippetEvent(
                literal_key("job", args["job"]), datasets(args["inputs"]), datasets(args["outputs"])
            )
    raise AssertionError("the README's Python snippet builds no RunEvent")


def ask_the_graph() -> tuple[list[str], list[list[str]]]:
    """The GET URLs of the curl lines and the argument lists of the ``olgraph`` lines."""
    (block,) = section_blocks("Ask the graph", "bash")
    urls, commands = [], []
    for line in block.text.splitlines():
        if line.startswith("curl "):
            urls.append(next(w for w in shlex.split(line) if w.startswith("http")))
        elif line.startswith(README_CLI):
            commands.append(shlex.split(line)[1:])
    return urls, commands


def cli_commands_anywhere() -> list[list[str]]:
    """Every ``.venv/bin/olgraph …`` line of every bash block, and every inline `` `olgraph …` ``."""
    lines = [
        shlex.split(line.split("#", 1)[0])[1:]
        for block in readme_blocks()
        if block.lang == "bash"
        for line in block.text.splitlines()
        if line.startswith(README_CLI)
    ]
    inline = re.findall(r"`(?:\.venv/bin/)?olgraph ([^`]+)`", README.read_text())
    return lines + [shlex.split(command) for command in inline]


def other_endpoints() -> list[str]:
    """The paths listed after "Other endpoints:" (up to the end of that paragraph)."""
    text = README.read_text()
    paragraph = text[text.index("Other endpoints:") :].split("\n\n", 1)[0]
    return re.findall(r"`(?:GET )?(/[^`\s]*)`", paragraph)


# --- a live server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``olgraph serve`` as ``make run`` starts it: embedded store, no API keys."""
    with E2E.run_server(tmp_path_factory.mktemp("readme") / "data") as server:
        yield server


def _local(url: str, server: Any) -> str:
    assert url.startswith(README_URL), url
    return f"{server.url}{url.removeprefix(README_URL)}"


@pytest.fixture(scope="module")
def curl_answer(live: Any) -> httpx.Response:
    curl = readme_curl_post()
    with live.client() as client:
        response: httpx.Response = client.post(curl.path, content=json.dumps(curl.body), headers=curl.headers)
    return response


@pytest.fixture(scope="module")
def client_run(
    live: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], list[Any]]:
    """The Python snippet, run with exactly the README's exports, through a recording proxy."""
    with E2E.run_recording_proxy(live.url) as proxy:
        env = {k: v.replace(README_URL, proxy.url) for k, v in readme_client_env().items()}
        done = E2E.run_python(readme_python_snippet(), env, tmp_path_factory.mktemp("snippet"))
    return done, env, proxy.requests


@pytest.fixture(scope="module")
def both_sent(live: Any, curl_answer: httpx.Response, client_run: Any) -> Any:
    """The server once both README events are applied."""
    assert curl_answer.status_code == 201, curl_answer.text
    assert client_run[0].returncode == 0, client_run[0].stderr
    with live.client() as client:
        E2E.wait_applied(client)
    return live


def olgraph_cli(args: list[str], server: Any) -> subprocess.CompletedProcess[str]:
    """``olgraph ARGS`` as the README runs it, pointed at ``server`` through ``OLGRAPH_URL``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLGRAPH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    if server is not None:
        env["OLGRAPH_URL"] = server.url
    return subprocess.run(
        [sys.executable, "-m", "olgraph", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


# --- the tests ------------------------------------------------------------------------------


def test_curl_example_gets_the_answer_shown(curl_answer: httpx.Response) -> None:
    curl = readme_curl_post()
    assert curl_answer.status_code == curl.status, curl_answer.text
    assert curl_answer.json() == {**curl_answer.json(), **curl.answer}


def test_python_client_example_is_accepted(client_run: Any) -> None:
    done, _, requests = client_run
    assert done.returncode == 0, done.stderr
    assert [(r.method, r.path, r.status) for r in requests] == [("POST", "/api/v1/lineage", 201)]


def test_python_client_example_compresses_as_the_readme_says(client_run: Any) -> None:
    """The README exports ``OPENLINEAGE__TRANSPORT__COMPRESSION``: the body must be sent that way."""
    _, env, requests = client_run
    compression = env.get("OPENLINEAGE__TRANSPORT__COMPRESSION")
    if compression is None:
        pytest.skip("the README no longer claims compression")
    assert requests, "the snippet sent nothing"
    sent = requests[0].headers.get("content-encoding")
    assert sent == compression, (
        f"README exports OPENLINEAGE__TRANSPORT__COMPRESSION={compression} with {sorted(env)}, but the "
        f"client sent Content-Encoding {sent!r}: with OPENLINEAGE_URL the openlineage-python client builds "
        "its transport from the URL alone and ignores OPENLINEAGE__TRANSPORT__* settings"
    )


def _downstream_of_orders() -> tuple[str, list[str]]:
    """The orders table and, in order, what the two README events put downstream of it."""
    curl, snippet = readme_curl_post().body, snippet_event(readme_python_snippet())
    orders = "dataset:{namespace}:{name}".format(**curl["inputs"][0])
    load = "job:{namespace}:{name}".format(**curl["job"])
    clean = "dataset:{namespace}:{name}".format(**curl["outputs"][0])
    assert snippet.inputs == [clean], "the README's two events are meant to chain"
    return orders, [load, clean, snippet.job, *snippet.outputs]


def test_lineage_query_returns_both_events_downstream(both_sent: Any) -> None:
    urls, _ = ask_the_graph()
    orders, downstream = _downstream_of_orders()
    lineage = next(u for u in urls if "/api/v1/lineage" in u)
    response = httpx.get(_local(lineage, both_sent), timeout=30)
    assert response.status_code == 200, response.text
    assert [n["id"] for n in response.json()["nodes"]] == [orders, *downstream]


def test_impact_csv_is_a_flat_list_with_distance_owners_and_last_run(both_sent: Any) -> None:
    urls, _ = ask_the_graph()
    _, downstream = _downstream_of_orders()
    impact = next(u for u in urls if "/api/v1/impact" in u and "format=csv" in u)
    response = httpx.get(_local(impact, both_sent), timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["id"], int(r["distance"])) for r in rows] == [(key, i) for i, key in enumerate(downstream, 1)]
    columns = set(rows[0])
    assert {"distance", "owners"} <= columns
    assert any(c.startswith("last") for c in columns), columns


def test_impact_cli_gates_on_live_dependents(both_sent: Any) -> None:
    _, commands = ask_the_graph()
    _, downstream = _downstream_of_orders()
    impact = next(c for c in commands if c[0] == "impact")
    gated = olgraph_cli(impact, both_sent)
    assert gated.returncode == 1, gated.stdout + gated.stderr
    for key in downstream:
        assert key in gated.stdout
    leaf = olgraph_cli([*impact[:1], downstream[-1], *impact[2:]], both_sent)
    assert leaf.returncode == 0, leaf.stdout + leaf.stderr


def test_lineage_cli_prints_json_upstream(both_sent: Any) -> None:
    _, commands = ask_the_graph()
    orders, downstream = _downstream_of_orders()
    lineage = next(c for c in commands if c[0] == "lineage")
    done = olgraph_cli(lineage, both_sent)
    assert done.returncode == 0, done.stderr
    start = lineage[1]
    expected = [orders, *downstream]
    upstream = expected[: expected.index(start) + 1]
    assert {n["id"] for n in json.loads(done.stdout)["nodes"]} == set(upstream)


def test_other_endpoints_answer(both_sent: Any) -> None:
    curl = readme_curl_post().body
    orders, _ = _downstream_of_orders()
    values = {
        "{ns}": curl["job"]["namespace"],
        "{name}": curl["job"]["name"],
        "{runId}": curl["run"]["runId"],
        "…": orders,
    }
    paths = other_endpoints()
    assert len(paths) >= 8, paths
    with both_sent.client() as client:
        for documented in paths:
            path = documented
            for placeholder, value in values.items():
                path = path.replace(placeholder, value)
            response = client.get(path)
            assert response.status_code == 200, (
                f"{documented} as {path}: {response.status_code} {response.text}"
            )


def test_ingest_answers_as_documented(live: Any) -> None:
    """The batch endpoint takes a JSON array; a non-JSON body gets 415."""
    body = readme_curl_post().body
    with live.client() as client:
        batch = client.post("/api/v1/lineage/batch", json=[body, {"eventType": "START"}])
        not_json = client.post(
            "/api/v1/lineage", content=b"eventType=START", headers={"Content-Type": "text/plain"}
        )
    assert batch.status_code == 200, batch.text
    assert batch.json()["summary"]["successful"] == 1
    assert batch.json()["summary"]["failed"] == 1
    assert not_json.status_code == 415


def test_every_command_and_option_exists() -> None:
    """Each ``olgraph`` command line of the README names a real command and real options."""
    commands = cli_commands_anywhere()
    assert len(commands) >= 4, commands
    for args in commands:
        words = [w for w in args if re.fullmatch(r"[a-z][a-z0-9-]*", w)]
        path = args[: next((i for i, w in enumerate(args) if w not in words), len(args))]
        shown = olgraph_cli([*path, "--help"], None)
        assert shown.returncode == 0, f"olgraph {' '.join(path)} --help: {shown.stderr}"
        for option in (w for w in args if w.startswith("--")):
            assert option in shown.stdout, f"olgraph {' '.join(path)} has no option {option}"


def _cli_envvars() -> set[str]:
    """Environment variables the ``olgraph`` commands read themselves (``OLGRAPH_URL``…)."""
    import click  # noqa: PLC0415

    from olgraph.cli import main  # noqa: PLC0415

    found: set[str] = set()
    pending: list[click.Command] = [main]
    while pending:
        command = pending.pop()
        if isinstance(command, click.Group):
            pending += command.commands.values()
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            found.update([envvar] if isinstance(envvar, str) else envvar or [])
    return found


PLUGIN_VARIABLE = re.compile(r"OLGRAPH_(MLFLOW|RAY)_(DISABLED|DEBUG|IGNORE_ERRORS|FLUSH_TIMEOUT|JOB_NAME)")


def _is_plugin_variable(name: str) -> bool:
    """The client-side plugins' switches (olgraph.integrations._common.PluginSettings)."""
    match = PLUGIN_VARIABLE.fullmatch(name)
    if match is None:
        return False
    from olgraph.integrations._common import PluginSettings  # noqa: PLC0415

    settings = PluginSettings.from_env(match[1].lower(), {name: "true"})
    return match[2] == "JOB_NAME" or match[2] == "FLUSH_TIMEOUT" or getattr(settings, match[2].lower())


def _is_setting(name: str) -> bool:
    model: Any = Settings
    for part in name.removeprefix("OLGRAPH_").lower().split("__"):
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        model = fields[part].annotation
    return True


def test_every_setting_in_the_readme_exists() -> None:
    """Each ``OLGRAPH_*`` variable the README names is read by olgraph; each serve option it names exists."""
    text = README.read_text()
    names = set(re.findall(r"\bOLGRAPH_[A-Z0-9_]+[A-Z0-9]", text))
    assert len(names) >= 6, names
    cli_envvars = _cli_envvars()
    unknown = sorted(
        n for n in names if not _is_setting(n) and n not in cli_envvars and not _is_plugin_variable(n)
    )
    assert unknown == [], "README names variables that are neither settings nor CLI environment variables"
    configuration = text[text.index("## Configuration") :].split("\n## ", 1)[0]
    serve_help = olgraph_cli(["serve", "--help"], None).stdout
    for option in set(re.findall(r"`(--[a-z0-9-]+)`", configuration)):
        assert option in serve_help, f"README names serve option {option}, which olgraph serve lacks"
