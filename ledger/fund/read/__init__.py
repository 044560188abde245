"""The fund read as values: one module per area, each with its keyset-paged list
(:mod:`ledger.paging`) and its one record in full, as frozen dataclasses and tuples that the
command line, the web pages and the scheduler render alike. Nothing here writes, and no
value here is an ORM row.

- :mod:`~ledger.fund.read.loans` — ``loans_page``, ``loan_detail``;
- :mod:`~ledger.fund.read.borrowers` — ``borrowers_page``, ``borrower_detail``;
- :mod:`~ledger.fund.read.claims` — ``claims_page``;
- :mod:`~ledger.fund.read.allocations` — ``allocations_page``;
- :mod:`~ledger.fund.read.dashboard` — ``dashboard``;
- :mod:`~ledger.fund.read.views` — the borrower, commitment and loan-line values the
  others share.
"""
