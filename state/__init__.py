"""State and settings: every default and limit of newsbeam, and the store that remembers what
must outlive a run (feed validators, articles seen, the story index, dead letters, run history).

The layer between the records (`schemas`) and the steps (`transforms`): it owns every SQL
statement newsbeam runs.
"""
