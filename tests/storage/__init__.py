"""Tests of the storage layer and secrets at rest."""
