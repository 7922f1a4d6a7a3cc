"""``python -m rampart`` is the ``rampart`` command."""

from rampart.cli.main import main

main()
