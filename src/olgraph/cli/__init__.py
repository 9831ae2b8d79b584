"""The ``olgraph`` command line.

``olgraph serve`` runs the server; ``olgraph lineage``, ``olgraph impact`` and ``olgraph cypher``
ask a running server over HTTP, and ``olgraph dead-letters`` lists and replays its dead letters;
``olgraph services`` runs the local development Neo4j.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(main, ["--version"]).output
'olgraph, version 0.1.0\\n'
"""

from __future__ import annotations

import click

from olgraph import __version__
from olgraph.cli.admin_cmd import delete_command, retention_command
from olgraph.cli.api_cmd import api_command
from olgraph.cli.browse import column_lineage_command, search_command, show_command
from olgraph.cli.consume import consume_command
from olgraph.cli.cypher_cmd import cypher_command
from olgraph.cli.dead_letters import dead_letters_group
from olgraph.cli.query import impact_command, lineage_command
from olgraph.cli.serve import serve_command
from olgraph.cli.services import services
from olgraph.cli.sync_cmd import sync_group


@click.group("olgraph", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="olgraph")
def main() -> None:
    """olgraph: an OpenLineage collector and lineage graph store."""


main.add_command(serve_command)
main.add_command(api_command)
main.add_command(consume_command)
main.add_command(lineage_command)
main.add_command(impact_command)
main.add_command(cypher_command)
main.add_command(column_lineage_command)
main.add_command(search_command)
main.add_command(show_command)
main.add_command(delete_command)
main.add_command(retention_command)
main.add_command(services)
main.add_command(sync_group)
main.add_command(dead_letters_group)
