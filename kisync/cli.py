"""The ``kisync`` command line.

Each command is a small function taking the parsed arguments and returning
an exit status: 0 success, 1 a problem with the input or a failed run,
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kisync import __version__
from kisync.errors import KisyncError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _cmd_validate(args: argparse.Namespace) -> int:
    from kisync.validate import cli_validate

    # Several documents: each is reported on its own; the worst status wins.
    return max(cli_validate(target, output_format=args.format, lang=args.lang) for target in args.targets)


def _cmd_schema(args: argparse.Namespace) -> int:
    from kisync.schema import write_schemas

    for path in write_schemas(args.directory):
        print(f"wrote {path}")
    return EXIT_OK


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from kisync.config import load_settings
    from kisync.store.db import create_engine, describe_url, upgrade

    settings = load_settings(args.config)
    engine = create_engine(settings.database.url)
    revision = upgrade(engine)
    print(f"database {describe_url(settings.database.url)} is at revision {revision}")
    return EXIT_OK


def _cmd_db_current(args: argparse.Namespace) -> int:
    from kisync.config import load_settings
    from kisync.store.db import create_engine, current_revision, describe_url, head_revision

    settings = load_settings(args.config)
    engine = create_engine(settings.database.url)
    current, head = current_revision(engine), head_revision()
    state = "up to date" if current == head else "needs `kisync db upgrade`"
    print(f"database {describe_url(settings.database.url)}: revision {current or 'none'}, head {head} ({state})")
    return EXIT_OK if current == head else EXIT_FAILED


def _cmd_config_check(args: argparse.Namespace) -> int:
    from kisync.config import load_settings

    settings = load_settings(args.config)
    print(f"{settings.source_file or 'defaults'}: ok, {len(settings.sources)} source(s)")
    return EXIT_OK


def _cmd_config_reference(args: argparse.Namespace) -> int:
    from kisync.config import reference_markdown

    print(reference_markdown())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kisync",
        description="Exchange of integration projects between the Kommunale Integrationszentren of NRW.",
    )
    parser.add_argument("--version", action="version", version=f"kisync {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str, func) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    def config_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-c", "--config", default=None, help="configuration file (default: $KISYNC_CONFIG or ./config.yaml)"
        )

    validate = add("validate", "check an exchange v1 document (file or URL) and report every problem", _cmd_validate)
    validate.add_argument("targets", nargs="+", metavar="PATH|URL", help="path or http(s) URL of a document")
    validate.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    validate.add_argument("--lang", choices=("de", "en"), default="de", help="message language (default: de)")

    schema = add("schema", "write the JSON Schema files generated from the models", _cmd_schema)
    schema.add_argument("directory", nargs="?", default="schemas", help="target directory (default: schemas)")

    db = add("db", "database migrations", lambda args: db.print_help() or EXIT_USAGE)
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.set_defaults(func=_cmd_db_upgrade)
    config_option(upgrade)
    current = db_commands.add_parser("current", help="show the database's schema revision")
    current.set_defaults(func=_cmd_db_current)
    config_option(current)

    config = add("config", "configuration", lambda args: config.print_help() or EXIT_USAGE)
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION")
    check = config_commands.add_parser("check", help="load the configuration and report problems")
    check.set_defaults(func=_cmd_config_check)
    config_option(check)
    reference = config_commands.add_parser("reference", help="print the configuration reference (Markdown)")
    reference.set_defaults(func=_cmd_config_reference)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except KisyncError as error:
        print(f"kisync: {error}", file=sys.stderr)
        return EXIT_USAGE if error.code == "config_error" else EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
