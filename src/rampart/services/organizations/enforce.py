"""What the authorizer needs from Organizations: each account's SCP and RCP levels and org keys.

``AccountOrg`` per account is built from the tree (root -> OUs -> account)
and the policies attached at each level, compiled once, and cached until an
organization changes (``store.changed``), another process bumps one of the
account's generations, or a short TTL passes. The hot path is one dict read.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select

from rampart.gateway.authorize import AccountOrg, set_organization_resolver
from rampart.gateway.registry import on_gateway
from rampart.policy import CompiledPolicy, PolicyType, compile_policy
from rampart.services.organizations import settings, store
from rampart.services.organizations.tables import (
    org_accounts,
    org_attachments,
    org_policies,
    org_units,
)

CACHE_TTL_SECONDS = 2.0
CACHE_MAX_ENTRIES = 10_000
_ENGINE_TYPE = {store.SCP: PolicyType.SCP, store.RCP: PolicyType.RCP}
MAX_DEPTH = 5  # an OU tree is at most five levels deep below the root
_CLOSED_SCP = compile_policy('{"Version":"2012-10-17","Statement":[{"Sid":"AccountClosed","Effect":"Deny",'
                             '"Action":"*","Resource":"*"}]}', "rampart-account-closed", PolicyType.SCP)
_CLOSED_RCP = compile_policy('{"Version":"2012-10-17","Statement":[{"Sid":"AccountClosed","Effect":"Deny",'
                             '"Principal":"*","Action":"*","Resource":"*"}]}', "rampart-account-closed",
                             PolicyType.RCP)


def parent_chain(conn: store.Conn, org: store.Org, parent_id: str) -> list[str]:
    """The ids from the root down to ``parent_id`` (root first); stops at a broken link."""
    chain = [parent_id]
    current = parent_id
    while current != org.root_id and len(chain) <= MAX_DEPTH + 1:
        row = conn.execute(select(org_units.c.parent_id).where(org_units.c.ou_id == current)).first()
        if row is None:
            break
        current = row.parent_id
        chain.append(current)
    return list(reversed(chain))


def _level(conn: store.Conn, org: store.Org, target: str, policy_type: str) -> tuple[CompiledPolicy, ...]:
    """The compiled policies of one type attached to one target."""
    rows = conn.execute(
        select(org_policies.c.policy_id, org_policies.c.content)
        .join(org_attachments, (org_attachments.c.org_id == org_policies.c.org_id)
              & (org_attachments.c.policy_id == org_policies.c.policy_id))
        .where(org_attachments.c.org_id == org.org_id, org_attachments.c.target_id == target,
               org_policies.c.policy_type == policy_type)
        .order_by(org_policies.c.policy_id)
    ).all()
    return tuple(compile_policy(row.content, row.policy_id, _ENGINE_TYPE[policy_type]) for row in rows)


def load_account_org(conn: store.Conn, account_id: str) -> AccountOrg | None:
    """The account's place in its organization and the levels that govern it; None outside any."""
    row = conn.execute(select(org_accounts.c.parent_id).where(org_accounts.c.account_id == account_id)).first()
    org = store.org_of_account(conn, account_id)
    if row is None or org is None:
        return None
    chain = parent_chain(conn, org, row.parent_id)
    paths = "/".join([org.org_id, *chain]) + "/"
    if org.management_account_id == account_id:  # SCPs and RCPs never restrict the management account
        return AccountOrg(org.org_id, paths, True)
    targets = [*chain, account_id]
    levels = {kind: tuple(_level(conn, org, target, kind) for target in targets)
              for kind in store.POLICY_TYPES if kind in org.policy_types}
    scp, rcp = levels.get(store.SCP, ()), levels.get(store.RCP, ())
    if settings.is_closed(conn, org.org_id, account_id):
        # A closed (pending or suspended) account: nothing its principals ask is allowed, and nothing
        # in it can be reached from elsewhere. An extra level holding only a Deny refuses every request.
        scp, rcp = (*scp, (_CLOSED_SCP,)), (*rcp, (_CLOSED_RCP,))
    return AccountOrg(org.org_id, paths, False, scp, rcp)


class OrgCache:
    """AccountOrg per account (None cached too), forgotten on any organization change."""

    def __init__(self, gateway: Any, ttl: float = CACHE_TTL_SECONDS) -> None:
        self.gateway = gateway
        self.ttl = ttl
        self._entries: dict[str, tuple[float, AccountOrg | None]] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def resolve(self, account_id: str) -> AccountOrg | None:
        """The authorizer's hook: cached, or read from the database."""
        found = self._entries.get(account_id)
        if found is not None and found[0] >= time.monotonic():
            return found[1]
        epoch = self._epoch
        with self.gateway.db.read() as conn:
            value = load_account_org(conn, account_id)
        with self._lock:
            if epoch == self._epoch:  # no change landed while we read: safe to keep
                if len(self._entries) >= CACHE_MAX_ENTRIES:
                    self._entries.clear()
                self._entries[account_id] = (time.monotonic() + self.ttl, value)
        return value

    def forget(self, _account_id: str | None = None) -> None:
        """Something changed: an account may move between organizations, so drop everything."""
        with self._lock:
            self._epoch += 1
            self._entries.clear()


@on_gateway
def wire(gateway: Any) -> None:
    """Plug Organizations into a gateway's authorizer."""
    cache = OrgCache(gateway)
    store.on_change(cache.forget)
    if gateway.accounts is not None:
        gateway.accounts.on_account_change(cache.forget)
    set_organization_resolver(cache.resolve)
