"""Persistence: SQLModel tables, repositories, migrations, locks. Repositories never commit."""
