"""Rampart: the AWS security services, self-hosted."""

__version__ = "0.1.0"
