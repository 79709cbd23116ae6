"""The report: the daily dataset from the store, charts, and the self-contained HTML."""
