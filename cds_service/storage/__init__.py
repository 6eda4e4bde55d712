"""The storage layer: one database (embedded SQLite or PostgreSQL) behind feedback, the JWT replay cache
and the card audit log, with schema migrations run at start-up.

`database.Database` is the seam: SQL is written once with `?` placeholders and runs on both backends.
Open everything with `stores.open_stores(settings)`.
"""
