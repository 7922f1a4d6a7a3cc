"""IAM: users, groups, roles, policies, credentials and the state the authorizer reads.

Handlers are split by resource (``users``, ``groups``, ``roles``, ``policies``,
``keys``, ``passwords``, ``mfa``, ``reports``, ``simulate``, ``providers``);
``store`` holds the queries they share; ``authz`` turns a caller into the
engine's Principal and PolicySet.
"""
