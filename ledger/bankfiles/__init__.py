"""Partner banks' files (bank interface v1): reading, checking, posting, receipts.

:func:`~ledger.bankfiles.imports.import_file` takes a file in; the CLI
(``fundledger import``), the web upload, the API and the drop folder
(:mod:`ledger.bankfiles.dropfolder`) all call it.
"""
