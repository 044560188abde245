"""The Flask web UI and JSON API over the books (bureau staff, partner banks, auditors).

Views stay thin: every business action calls a function in ``ledger``.
"""
