"""The demo city: a guarantee fund's two years of books built through the fund's own
operations (``city``), and the files its partner banks send the month after
(``bank_files``). Used by ``fundledger init --demo``, ``fundledger imports demo``, the
tests and the benchmarks; nothing in the fund or the books imports it."""
