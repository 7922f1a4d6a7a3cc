"""Alembic migrations of Rampart's schema (run by ``Database.migrate``)."""
