"""``crm import employers``: run the import from the command line and print its report."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from crm.db import make_sessionmaker
from crm.employers import import_file
from crm.employers.import_file import ImportFileError
from crm.employers.import_service import (
    DEFAULT_BATCH_SIZE,
    STALE_AFTER,
    ImportResult,
    ImportStopped,
    run_import,
)
from crm.settings import Settings


def result_lines(result: ImportResult, limit: int = 50) -> list[str]:
    """The report the CLI prints: counts, rejected batches and the first errors."""
    c = result.counts
    verb = "would import" if result.dry_run else "imported"
    lines = [
        f"{result.total_rows} rows: {c['new']} new, {c['matched']} matched to existing employers, "
        f"{c['duplicate']} duplicates of earlier rows, {c['review']} need review (not imported), "
        f"{c['unchanged']} imported before, {c['invalid']} invalid",
    ]
    if result.rejected_batches:
        lines.append(f"{len(result.rejected_batches)} batch(es) with invalid rows {verb} nothing "
                     f"({c['rejected']} rows): " + ", ".join(
            f"#{b} (rows {f}-{t})" for b, f, t in result.rejected_batches[:20]))
    for err in result.errors[:limit]:
        lines.append(f"  {err}")
    if len(result.errors) > limit:
        lines.append(f"  ... and {len(result.errors) - limit} more errors")
    for s in result.samples.get("review", [])[:20]:
        lines.append(f"  row {s['row']} ({s['name']}) needs review: {s['explanation']}")
    lines.append(f"{'dry run, nothing written' if result.dry_run else 'done'} in {result.seconds:.1f} s"
                 + (f" (job #{result.job_id})" if result.job_id else ""))
    return lines


def cli_import(settings: Settings, path: Path, *, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
               region: str | None = None, maps: Sequence[str] = ()) -> int:
    """``crm import employers``: exit 0 when every row went in, 1 when rows were invalid, 2 when the
    file was refused, 3 when the run stopped part-way (a database error: its job is marked failed)."""
    import asyncio

    import click
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crm.db import make_engine

    mapping: dict[str, str] = {}
    for item in maps:
        header, sep, column = item.partition("=")
        if not sep:
            click.echo(f"--map {item!r}: expected HEADER=COLUMN", err=True)
            return 2
        mapping[header.strip()] = column.strip() or import_file.IGNORE
    data = path.read_bytes()

    async def go() -> ImportResult:
        engine = make_engine(settings)
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), transient=False) as bar:
                task = bar.add_task("dry run" if dry_run else "importing", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await run_import(make_sessionmaker(engine), data, filename=path.name, mapping=mapping,
                                        region=region, dry_run=dry_run, batch_size=batch_size, on_progress=progress)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(go())
    except ImportFileError as exc:
        click.echo(f"Error: {exc}. Nothing was written.", err=True)
        return 2
    except ImportStopped as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo(f"Job #{exc.job_id} is marked failed." if exc.marked else
                   f"Job #{exc.job_id} could not be marked failed either; it shows as interrupted once it has "
                   f"had no heartbeat for {STALE_AFTER.total_seconds() / 60:.0f} minutes.", err=True)
        return 3
    except DBAPIError as exc:  # before the run had a job (a dry run has none)
        click.echo(f"Error: the database refused: {exc.orig}. Nothing was imported.", err=True)
        return 3
    for line in result_lines(result):
        click.echo(line)
    # The process ends now: spare it the collector's final pass over all the run cached.
    gc.freeze()
    return 1 if result.errors else 0
