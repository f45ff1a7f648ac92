"""A CRM table (one row per lead) as model input.

- ``roles``: the role of each column, the label column and its values
- ``encoding``: numbers, dates and categories as model features
- ``checks``: columns that leak the outcome, found from the data
"""
