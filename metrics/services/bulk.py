"""Bulk inserts through PostgreSQL's COPY.

A version's freeze writes tens of thousands of items and the caches as many rows; Django's
bulk_create sends them as huge parameterised INSERTs, several times slower than COPY on
psycopg 3. On another database (the quick start's SQLite) bulk_create does it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models, transaction

BATCH = 2000  # rows per INSERT where COPY is not available
# After this many rows, the table's statistics are refreshed at once: a cache table that grew
# from nothing to 80,000 rows before autovacuum looked would otherwise be read by a plan made
# for an empty table (every look-up scanning the whole model's rows: 11 s instead of 1 s).
ANALYZE_AFTER = 10_000


def rows_copy(
    *,
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence],
    ignore_conflicts: bool = False,
) -> None:
    """Insert `rows` (tuples in the order of `fields`, foreign keys as ids) into `model`'s
    table. With `ignore_conflicts` a row that would break a unique constraint is skipped (the
    rows go through a temporary table, then INSERT ... ON CONFLICT DO NOTHING)."""
    if connection.vendor != "postgresql":
        rows_insert(model=model, fields=fields, rows=rows, ignore_conflicts=ignore_conflicts)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(model._meta.get_field(name).column) for name in fields
    )
    # Only names from the model's metadata, quoted, go into the SQL; the values go through COPY.
    with transaction.atomic(), connection.cursor() as cursor:
        target = table
        if ignore_conflicts:
            target = connection.ops.quote_name(f"load_{model._meta.db_table}")
            create = (
                f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS SELECT {columns} FROM {table}"  # noqa: E501, S608
            )
            cursor.execute(create + " WITH NO DATA")
        written = 0
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        if ignore_conflicts:
            insert = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target}"  # noqa: S608
            cursor.execute(insert + " ON CONFLICT DO NOTHING")
            # Dropped here: inside an outer transaction, ON COMMIT would come too late for the
            # next call. (An error rolls the savepoint back, the table with it.)
            cursor.execute(f"DROP TABLE {target}")
        if written >= ANALYZE_AFTER:
            cursor.execute(f"ANALYZE {table}")


def rows_insert(
    *,
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence],
    ignore_conflicts: bool = False,
) -> None:
    """The same through bulk_create, for databases without COPY (foreign keys given as ids)."""
    names = [model._meta.get_field(name).attname for name in fields]  # "version" -> version_id
    model.objects.bulk_create(
        [model(**dict(zip(names, row, strict=True))) for row in rows],
        batch_size=BATCH,
        ignore_conflicts=ignore_conflicts,
    )
