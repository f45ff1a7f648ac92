"""Demo data.

- ``funnel``: a simulated funnel with its exact oracle
- ``crm``: a CRM export made from a simulated funnel
"""
