"""The estimator and what is written about it.

- ``pipeline``: the candidate models and calibration
- ``baselines``: logistic regression and the points rule
- ``model``: the fitted model that scores feature rows
- ``split``: out-of-time splits and evaluation designs
- ``evaluate``: metrics, tiers and capacity
- ``plots``: calibration, lift and importance figures
- ``card``: the model card
- ``drift``: the training reference for drift monitoring
- ``bundle``: the bundle directory, written atomically
- ``tracking``: MLflow runs and the model registry
"""
