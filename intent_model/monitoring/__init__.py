"""How past scores turned out: outcomes of a scoring run, against what training promised.

- ``outcomes``: each scored lead's outcome after ``as_of``, and the realized metrics
- ``monitor``: ``intent_model.monitor``: read, measure, write, log to MLflow, report
"""
