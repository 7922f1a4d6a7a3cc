"""Stages: a plan once its resource tests are answered, down to a Decision.

A Stage holds the statements whose resource matched and the conditions they
read. Per request it maps the context values those conditions read to a vector
of condition codes (memo hits: ``map`` over C-level dict lookups, no bytecode per
condition) and looks the Decision up in a bounded table keyed by that vector.

A vector not tabled yet (fresh combinations are common: a handful of two-valued
conditions already make a hundred) is decided on bit masks: the codes fold into
``holds`` and ``missing`` masks over the stage's conditions, and a statement
matches when its own mask is inside ``holds``. Explicit denies read only the
conditions of Deny statements, so their outcome is tabled on those bits alone,
which few requests vary; only when no deny matches are the allows looked at.
No table can go stale: keys are outcomes, and a stage never changes.
"""

from __future__ import annotations

from operator import getitem
from typing import TYPE_CHECKING, Any

from rampart.policy.conditions import Condition
from rampart.policy.model import Decision, DecisionKind

if TYPE_CHECKING:
    from rampart.policy.plan import Plan

ALWAYS = -1  # a resource atom that always holds (a "*" value)
TABLE_LIMIT = 1024
_NEVER: dict = {}  # stays empty: the memo of conditions whose outcome is never memoised
# Cache misses by kind, counted on the slow paths only (``evaluate.cache_stats`` reports them).
MISSES = {"plan": 0, "resource": 0, "stage": 0, "decision": 0}


def _bounded_put(table: dict, key: Any, value: Any) -> Any:
    """Store in a bounded table (cleared when full: keys are outcomes, so clearing only costs misses)."""
    if len(table) >= TABLE_LIMIT:
        table.clear()
    table[key] = value
    return value


class Stage:
    """A plan once the resource tests are known: the statements left and the conditions they read.

    Only conditions of statements whose resource matched are evaluated (as AWS
    does). ``keys`` and ``memos`` drive the per-request fast path in
    ``Plan.decide``: ``tuple(map(dict.get, memos, map(context.get, keys)))``.
    """

    __slots__ = (
        "allow_bits",
        "allow_table",
        "allows",
        "conditions",
        "denies",
        "deny_bits",
        "deny_table",
        "hold_bits",
        "keys",
        "memos",
        "miss_bits",
        "missing_names",
        "missing_table",
        "plan",
        "table",
    )

    def __init__(self, plan: Plan, head: tuple) -> None:
        MISSES["stage"] += 1
        self.plan = plan
        used: dict[int, int] = {}
        denies: list[tuple[int, Any]] = []
        allows: list[tuple] = []
        names: list[tuple[int, str]] = []
        for entries in plan.entries:
            layer = []
            for deny, broken, res, not_res, conds, ref, grant in entries:
                if not broken and res is not None and (res == ALWAYS or head[res] is not None) is not_res:
                    continue
                mask = 0
                for c, name in conds:
                    bit = 1 << used.setdefault(c, len(used))
                    mask |= bit
                    names.append((bit, name))
                if deny:  # a broken statement is always a Deny here (mask 0: it always matches)
                    denies.append((mask, ref))
                else:
                    layer.append((mask, ref, grant))
            allows.append(tuple(layer))
        self.denies, self.allows, self.missing_names = tuple(denies), tuple(allows), tuple(names)
        self.deny_bits = _union(mask for mask, _ in denies)
        self.allow_bits = _union(entry[0] for layer in allows for entry in layer)
        self.conditions: tuple[Condition, ...] = tuple(plan.conditions[c] for c in used)
        self.keys = tuple(c.key for c in self.conditions)
        self.memos = tuple(c.memo if c.memo is not None else _NEVER for c in self.conditions)
        self.hold_bits = tuple((0, 1 << i, 0, 1 << i) for i in range(len(used)))  # by code: HOLDS=1, MISSING=2
        self.miss_bits = tuple((0, 0, 1 << i, 1 << i) for i in range(len(used)))
        self.table: dict[tuple, Decision] = {}
        self.deny_table: dict[tuple[int, int], Decision | None] = {}
        self.allow_table: dict[tuple[int, int], Decision] = {}
        self.missing_table: dict[int, tuple[str, ...]] = {}

    def decide(self, codes: tuple, keys: Any) -> Decision:
        """The Decision for a vector not tabled yet (codes not memoised yet are None)."""
        MISSES["decision"] += 1
        if None in codes:
            codes = tuple([c.code(keys) if code is None else code for c, code in zip(self.conditions, codes)])
            found = self.table.get(codes)
            if found is not None:
                return found
        holds = sum(map(getitem, self.hold_bits, codes))
        missing = sum(map(getitem, self.miss_bits, codes))
        key = (holds & self.deny_bits, missing)
        found = self.deny_table.get(key, False)
        if found is False:
            found = _bounded_put(self.deny_table, key, self._explicit_deny(holds, missing))
        if found is None:
            key = (holds & self.allow_bits, missing)
            found = self.allow_table.get(key)
            if found is None:
                allows = [[(ref, grant) for mask, ref, grant in layer if mask & holds == mask] for layer in self.allows]
                found = _bounded_put(self.allow_table, key, self.plan.combine(allows, self._missing(missing)))
        return _bounded_put(self.table, codes, found)

    def _explicit_deny(self, holds: int, missing: int) -> Decision | None:
        """The explicit deny, if a Deny statement's conditions all hold."""
        refs = tuple([ref for mask, ref in self.denies if mask & holds == mask])
        if not refs:
            return None
        return Decision(DecisionKind.EXPLICIT_DENY, refs, refs[0].policy_type, self._missing(missing))

    def _missing(self, missing: int) -> tuple[str, ...]:
        """Keys a matching statement's conditions lacked: in statement order, once each, first spelling kept."""
        if not missing:
            return ()
        found = self.missing_table.get(missing)
        if found is None:
            seen: dict[str, str] = {}
            for bit, name in self.missing_names:
                if missing & bit:
                    seen.setdefault(name.lower(), name)
            found = _bounded_put(self.missing_table, missing, tuple(seen.values()))
        return found


def _union(masks: Any) -> int:
    out = 0
    for mask in masks:
        out |= mask
    return out
