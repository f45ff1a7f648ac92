"""An event log as model input.

- ``taxonomy``: event types to hard, soft and engagement classes
- ``log``: load and classify an event log
- ``chunks``: stream a large log in groups of leads
- ``labels``: cutoffs, snapshot population and labels (the point-in-time rule)
- ``families``: each feature family's names, computation and words
- ``features``: the feature spec, and every family from events before each cutoff
- ``guards``: data sufficiency and single-feature leak alarms
- ``inputs``: the leads table, feature spec and chunks a feature build reads
- ``training_set``: training snapshots
- ``stream``: the features of every lead as of one moment, chunk by chunk
"""
