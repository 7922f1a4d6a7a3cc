"""Storage: the SQLAlchemy engine (``db``), the schema and its Alembic migrations."""
