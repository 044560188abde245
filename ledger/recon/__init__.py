"""Reconciliation with the partner banks: their loan balances and special-account
statements against the fund's figures, the breaks found and worked through, overdue
ageing, expected deposit interest and the month-end guard. See docs/reconciliation.md."""
