"""The training sequence: data in, a registered model out.

- ``sequence``: the steps both modes share (fit, evaluate, card, bundle, register)
- ``from_events``: train from an event log
- ``from_table``: train from a CRM table
- ``promote``: compare with the champion and move the alias
- ``train``: the entry point that picks the mode
"""
