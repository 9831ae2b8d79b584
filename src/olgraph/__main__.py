"""``python -m olgraph``: the same as the ``olgraph`` command."""

from olgraph.cli import main

if __name__ == "__main__":
    main(prog_name="olgraph")
