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
from kisync.errors import ConfigError, KisyncError

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


def _open(args: argparse.Namespace, *, one_shot: bool = True):
    """Settings and an engine on a migrated database, with config sources registered."""
    from kisync.config import load_settings
    from kisync.logs import configure_logging
    from kisync.sources import SourceRegistry
    from kisync.store.db import open_engine

    settings = load_settings(args.config)
    # One-shot commands print their own report; their logs only add detail with --verbose.
    level = "WARNING" if one_shot and not getattr(args, "verbose", False) else settings.logging.level
    configure_logging(level, settings.logging.format)
    engine = open_engine(settings.database.url)
    SourceRegistry(engine).sync_config(settings.sources, settings.sync.default_interval)
    return settings, engine


def _cmd_sync(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import UTC, datetime

    from kisync.report import Progress, summary
    from kisync.sync import Syncer

    settings, engine = _open(args)
    syncer = Syncer(settings, engine)
    due_at = None if args.all or args.sources else datetime.now(UTC)
    sources = syncer.registry.select(args.sources, due_at=due_at)
    if not sources:
        print("no source is due (use --all to sync every enabled source)")
        return EXIT_OK
    try:
        reports = asyncio.run(syncer.sync_sources(sources, progress=Progress(len(sources))))
    finally:
        engine.dispose()
    print(summary(reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _cmd_run(args: argparse.Namespace) -> int:
    from kisync.runner import run

    settings, engine = _open(args, one_shot=False)
    web = args.command in ("run", "serve")
    worker = args.command in ("run", "worker")
    return run(settings, engine, web=web, worker=worker)


def _cmd_sources(args: argparse.Namespace) -> int:
    from kisync.config import SourceSettings
    from kisync.opml import parse_opml, render_opml
    from kisync.report import sources_table
    from kisync.sources import SourceRegistry

    settings, engine = _open(args)
    registry = SourceRegistry(engine)
    interval = settings.sync.default_interval
    action = args.sources_command
    if action == "list":
        print(sources_table(registry.list()))
    elif action == "add":
        values = {"id": args.id, "url": args.url, "format": args.format, "centre": args.centre, "relay": args.relay}
        if args.interval:
            values["interval"] = args.interval
        try:
            source = SourceSettings.model_validate(values)
        except ValueError as error:
            raise ConfigError(f"source {args.id}: {error}") from None
        registry.add(source, interval)
        print(f"added {source.id}")
    elif action == "remove":
        registry.remove(args.id)
        print(f"removed {args.id} (its items stay in the store)")
    elif action in ("enable", "disable"):
        source = registry.set_enabled(args.id, action == "enable")
        note = ", but it stays off: config.yaml says `enabled: false`" if action == "enable" and not source.enabled else ""
        print(f"{action}d {args.id}{note}")
    elif action == "approve-deletion":
        registry.approve_deletion(args.id)
        print(f"{args.id}: the next sync may delete what its snapshot no longer lists")
    elif action == "import-opml":
        from pathlib import Path

        imported = parse_opml(Path(args.file).read_bytes(), centre=args.centre)
        existing = {s.id for s in registry.list()}
        for source in imported:
            if source.id in existing:
                print(f"skipped {source.id}: exists already")
                continue
            registry.add(source, interval)
            print(f"added {source.id}")
    elif action == "export-opml":
        sys.stdout.write(render_opml(registry.list(), title=f"kisync sources of {settings.node.name}").decode())
    else:
        args.parser.print_help()
        return EXIT_USAGE
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

    for name, help in (
        ("run", "web server and scheduled worker in one process (the embedded default)"),
        ("serve", "web server only (with workers in other processes sharing PostgreSQL)"),
        ("worker", "scheduled sync only (any number can share one PostgreSQL database)"),
    ):
        config_option(add(name, help, _cmd_run))

    sync = add("sync", "fetch, merge and store sources once; exit 1 when any source failed", _cmd_sync)
    config_option(sync)
    sync.add_argument("sources", nargs="*", metavar="SOURCE_ID", help="sources to sync (default: the due ones)")
    sync.add_argument("--all", action="store_true", help="sync every enabled source, due or not")
    sync.add_argument("-v", "--verbose", action="store_true", help="log every fetch as well")

    sources = add("sources", "list and manage sources", lambda args: sources.print_help() or EXIT_USAGE)
    source_commands = sources.add_subparsers(dest="sources_command", metavar="ACTION")

    def source_action(name: str, help: str, with_id: bool = True) -> argparse.ArgumentParser:
        sub = source_commands.add_parser(name, help=help, description=help)
        sub.set_defaults(func=_cmd_sources, parser=sources)
        config_option(sub)
        if with_id:
            sub.add_argument("id", help="source id")
        return sub

    source_action("list", "show every source with its state", with_id=False)
    add_source = source_action("add", "add a source (kept in the database)")
    add_source.add_argument("url", help="https URL (or a file path below fetch.file_root)")
    add_source.add_argument("--centre", help="centre that publishes it, e.g. ki-05170")
    add_source.add_argument("--format", choices=("auto", "exchange", "feed"), default="auto")
    add_source.add_argument("--relay", action="store_true", help="another node's merged feed")
    add_source.add_argument("--interval", help="seconds or 15m, 1h, 1d")
    source_action("remove", "remove a source added with `add` (its items stay)")
    source_action("enable", "fetch the source again")
    source_action("disable", "stop fetching the source")
    source_action("approve-deletion", "let the next sync make a deletion the mass-deletion guard held")
    import_opml = source_action("import-opml", "add the feeds of an OPML file", with_id=False)
    import_opml.add_argument("file", help="OPML file")
    import_opml.add_argument("--centre", help="centre for outlines without a kisync:centre attribute")
    source_action("export-opml", "print the sources as OPML 2.0", with_id=False)

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
