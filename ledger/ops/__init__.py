"""What the books' operations need to run unattended: the record of every scheduled run
(``runs``), the lease that lets one scheduler process run jobs at a time (``leases``),
the alerts the bureau is shown and mailed (``alerts``) and the queue of uploaded files
waiting for the import worker (``queue``).

These tables live in the ledger, not in ``jobs``, because the web application reads them
(a page of runs, alerts to acknowledge, an upload's progress) without importing the
scheduler.
"""
