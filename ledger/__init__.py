"""fundledger's books: the double-entry ledger of a micro-loan guarantee fund.

This package never imports ``web`` or ``jobs``; they call into it.
"""
