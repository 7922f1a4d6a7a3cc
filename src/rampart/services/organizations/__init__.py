"""Organizations: an organization of Rampart accounts, its OUs, and the SCPs / RCPs that govern them.

``orgs`` holds the organization and its root, ``members`` the accounts
(created, invited, removed), ``units`` the OUs, ``policies`` SCPs and RCPs and
their attachments, ``handshakes`` invitations, ``tagging`` tags. ``store`` has
the queries they share; ``enforce`` turns an account's place in the tree into
the SCP and RCP levels and org condition keys the authorizer applies.
"""
