"""The ``mcg`` command line: discovers sub-commands in :mod:`mcg.commands`."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import shlex
import signal
import sys
import threading

from mcg import __version__
import mcg.commands


class CommandError(Exception):
    """An error caused by the user's input, reported as one line without a traceback."""


def _whole_number(text: str, minimum: int, kind: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be a {kind} integer, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse ``type`` for options that take a whole number of at least 1.

    Parameters
    ----------
    text : str
        The option's value as typed.

    Returns
    -------
    int

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is not an integer of at least 1 (argparse reports it and exits with 2).
    """
    return _whole_number(text, 1, "positive")


def non_negative_int(text: str) -> int:
    """argparse ``type`` for options that take a whole number of at least 0.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is not an integer of at least 0 (argparse reports it and exits with 2).
    """
    return _whole_number(text, 0, "non-negative")


def add_threads_argument(parser) -> None:
    """Add ``--threads N`` (threads for one image: edge bands, MCG scales at the same time)."""
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="threads per image: edges in bands of rows and, in mcg mode, the "
                        "scales at the same time (default 1; same files; for one image on "
                        "several cores, --workers for many)")


class Terminated(KeyboardInterrupt):
    """SIGTERM received: stops a command the way Ctrl-C does (exit code 143)."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every discovered sub-command.

    Returns
    -------
    argparse.ArgumentParser
        Parser whose sub-commands come from the modules of :mod:`mcg.commands`.
    """
    parser = argparse.ArgumentParser(
        prog="mcg",
        description="Multiscale Combinatorial Grouping: contours, hierarchies, object proposals "
        "and the BSDS500 / proposal benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"mcg {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(mcg.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"mcg.commands.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        Process exit code: 0 on success, 1 when some images failed, 2 for bad input,
        130 when interrupted (Ctrl-C), 143 when terminated (SIGTERM).
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command_line = "mcg " + shlex.join(argv)  # recorded by the training commands
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # the command line's own process: see mcg.allocator
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as error:
        print(f"mcg {args.command}: error: {error}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"mcg {args.command}: terminated (SIGTERM); rerun the same command to continue",
              file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"mcg {args.command}: interrupted; rerun the same command to continue",
              file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
