"""Read and change a test database directly (sqlite3 or psycopg), not through the storage layer."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import psycopg

from cds_service.config import Settings


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    if settings.database_url:
        with psycopg.connect(settings.database_url) as connection:
            return connection.execute(sql).fetchall()  # type: ignore[arg-type]  # test SQL is a literal
    with closing(sqlite3.connect(settings.feedback_db)) as connection:
        return connection.execute(sql).fetchall()


def execute(settings: Settings, *statements: str) -> None:
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)  # type: ignore[arg-type]
        return
    with closing(sqlite3.connect(settings.feedback_db, isolation_level=None)) as connection:
        for statement in statements:
            connection.execute(statement)


def columns(settings: Settings, table: str) -> set[str]:
    if settings.database_url:
        found = rows(settings, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'")
    else:
        found = [(r[1],) for r in rows(settings, f"PRAGMA table_info({table})")]
    return {r[0] for r in found}
