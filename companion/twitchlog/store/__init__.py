"""SQLite storage: the schema and its migrations, events, syncs, trial plans, export."""
