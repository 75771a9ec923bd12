"""The store: what newsbeam remembers between runs and shares between workers (feed
validators, the story index, dead letters, run history), on SQLite or PostgreSQL. It owns
every SQL statement of the store's own tables. See state/store.py."""
