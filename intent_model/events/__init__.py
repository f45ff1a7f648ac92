"""An event log as model input.

- ``taxonomy``: event types to hard, soft and engagement classes
- ``log``: load and classify an event log
- ``chunks``: stream a large log in groups of leads
- ``labels``: cutoffs, snapshot population and labels (the point-in-time rule)
- ``features``: the feature families, computed from events before each cutoff
- ``guards``: data sufficiency and single-feature leak alarms
- ``training_set``: training snapshots and the features as of one moment
"""
