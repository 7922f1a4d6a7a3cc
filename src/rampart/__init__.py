"""Rampart: the AWS security services, self-hosted."""
