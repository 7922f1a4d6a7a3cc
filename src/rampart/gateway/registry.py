"""Operation handlers, bound by model operation name.

A handler is a plain function ``(call, params) -> output dict``. Registration
checks the operation exists in the botocore model so a typo fails at import,
not at request time.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, TypeVar

from rampart.aws.models import SUPPORTED_SERVICES, service_model
from rampart.gateway.call import Call

Handler = Callable[[Call, dict[str, Any]], dict[str, Any] | None]
H = TypeVar("H", bound=Handler)

_HANDLERS: dict[tuple[str, str], Handler] = {}
_WIRINGS: list[Callable[[Any], None]] = []


class RegistrationError(LookupError):
    """A handler names a service or operation Rampart's models do not have."""


def handler(service: str, operation: str) -> Callable[[H], H]:
    """Bind a function to ``service:operation`` after checking the model has it."""
    if service not in SUPPORTED_SERVICES:
        raise RegistrationError(f"{service} is not a supported service")
    if operation not in service_model(service).operation_names:
        raise RegistrationError(f"{service} has no operation {operation}")

    def bind(function: H) -> H:
        key = (service, operation)
        if key in _HANDLERS and _HANDLERS[key] is not function:
            raise RegistrationError(f"{service}:{operation} is registered twice")
        _HANDLERS[key] = function
        return function

    return bind


def lookup(service: str, operation: str) -> Handler | None:
    """The handler for an operation, or None when Rampart does not implement it."""
    return _HANDLERS.get((service, operation))


def load_services() -> None:
    """Import every ``rampart.services.<name>`` package so its handlers register."""
    from rampart import services

    for module in pkgutil.walk_packages(services.__path__, prefix="rampart.services."):
        importlib.import_module(module.name)


def on_gateway(wiring: Callable[[Any], None]) -> Callable[[Any], None]:
    """Register a function that connects a service to each Gateway once it is built.

    Services use it to plug into shared stores (IAM supplies the account
    store's user resolver) without the gateway importing any service.
    """
    if wiring not in _WIRINGS:
        _WIRINGS.append(wiring)
    return wiring


def wire_services(gateway: Any) -> None:
    """Run every registered wiring against a newly built Gateway."""
    for wiring in _WIRINGS:
        wiring(gateway)
