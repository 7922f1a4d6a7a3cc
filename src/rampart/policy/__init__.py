"""The IAM policy language: parse, validate, compile, evaluate. Pure: no I/O.

Public API (everything other packages may import):

- ``PolicyType``: IDENTITY, RESOURCE, TRUST, BOUNDARY, SESSION, SCP, RCP, KMS_KEY.
- ``validate_policy(document, policy_type)``: raises ``MalformedPolicyDocument``
  (``.message`` holds IAM's own wording) where IAM would refuse the document.
- ``compile_policy(document, policy_id, policy_type) -> CompiledPolicy``: compiled
  once, cached by content hash (LRU). Never raises: statements it cannot
  understand fail closed (an Allow never matches, a Deny always does).
- ``Principal`` (with ``PrincipalType``) and ``RequestContext``: the question.
  Context keys are case-insensitive; values are strings, booleans, numbers or
  lists of strings. Keys that follow from the principal are derived.
- ``PolicySet``: identity policies, resource policy, boundary, session policies,
  SCP and RCP levels (root -> OUs -> account), ``resource_must_allow``.
- ``evaluate(request, policies) -> Decision``: ``.allowed``, ``.kind``
  (``DecisionKind``), ``.deciding`` (``StatementRef``: policy id, Sid, effect,
  policy type), ``.blocked_by`` (``PolicyType``), ``.missing_context_keys``.
- ``denial_reason(decision, action)``: the tail of AWS's AccessDenied message.
- ``clear_cache()``: forget compiled policies, interned tests and plans.

Speed: ``evaluate`` keeps a bounded cache of plans per (policy set content,
caller, action); see ``rampart.policy.plan`` and ``rampart.policy.stage``.
``evaluate.cache_stats()`` reports their sizes and misses. Its keys assume what the types
promise: a PolicySet's sequences and a Principal's ``tags`` are not mutated
after the object is first evaluated (build a new one instead; that is cheap,
and equal policy sets share their plans).
"""

from rampart.policy.compiler import CompiledPolicy, clear_cache, compile_policy
from rampart.policy.errors import MalformedPolicyDocument
from rampart.policy.evaluate import evaluate
from rampart.policy.explain import denial_reason
from rampart.policy.model import (
    Decision,
    DecisionKind,
    PolicySet,
    PolicyType,
    Principal,
    PrincipalType,
    RequestContext,
    StatementRef,
)
from rampart.policy.validate import validate_policy

__all__ = [
    "CompiledPolicy",
    "Decision",
    "DecisionKind",
    "MalformedPolicyDocument",
    "PolicySet",
    "PolicyType",
    "Principal",
    "PrincipalType",
    "RequestContext",
    "StatementRef",
    "clear_cache",
    "compile_policy",
    "denial_reason",
    "evaluate",
    "validate_policy",
]
