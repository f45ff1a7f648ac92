"""Where the feature and scoring code runs.

- ``select``: build features or training sets on the chosen engine
- ``spark``: the same code per group of leads on Spark
"""
