"""A frozen copy of the policy engine as it was before the speed work (commit cd9dee6).

The property tests compare the optimized engine against it: same documents, same
requests, the same Decision (kind, deciding statements, blocker, missing keys).
It keeps the original, straightforward per-request scan; only imports changed,
and its own RequestContext derivation lives in ``context``.
"""
