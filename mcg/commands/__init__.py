"""Sub-commands of the ``mcg`` command line.

Every module in this package that defines ``register(subparsers)`` adds one sub-command;
``mcg.cli`` discovers them in name order, so adding a command is adding a module here.
``register`` receives the ``argparse`` sub-parsers object and must set ``func`` (a callable
taking the parsed namespace and returning an exit code) as the parser's default.
"""
