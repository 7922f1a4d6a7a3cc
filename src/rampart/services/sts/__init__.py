"""AWS Security Token Service."""

from rampart.services.sts import handlers as handlers
