"""KMS: keys with real cryptography, key policies enforced by the engine, grants, aliases, rotation.

Handlers are split by concern (``lifecycle``, ``operations`` for symmetric
crypto, ``signing`` for asymmetric and HMAC, ``aliases``, ``grants``,
``keypolicy``, ``rotation``); ``keys`` finds keys and reads their material,
``crypto`` is the pure cryptography, ``policy`` builds the engine's view of a
key, ``authz`` plugs KMS into the authorize step and ``api`` serves other
services (S3's SSE-KMS).
"""

from rampart.services.kms import (  # noqa: F401 - importing registers the handlers and jobs
    aliases,
    authz,
    grants,
    keypolicy,
    lifecycle,
    operations,
    rotation,
    signing,
)
