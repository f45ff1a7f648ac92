"""Apply a trained model to leads.

- ``population``: which leads are ranked (open, converted, closed)
- ``explain``: exact per-lead contributions and their words
- ``predict``: load a model, score every lead, write the scores
- ``from_table``: score rows of a CRM table
- ``pyfunc``: the MLflow pyfunc face of a model
"""
