"""AWS Security Token Service."""

from rampart.services.sts import handlers as handlers  # noqa: F401 - registers the operations
