"""The guarantee fund's domain on top of the books: sources, banks, borrowers, policy,
commitments, loans, claims, recoveries, counter-guarantees and subsidies."""
