"""Read and check what users give.

- ``config``: the TOML config and its typed sections
- ``dialect``: CSV delimiter, encoding and decimal mark, detected
- ``files``: read any table file (CSV, Parquet, Excel) and write tables atomically
- ``validate``: the row checks of the input contract, quarantine and accounting
- ``load``: read a leads table (or any table) under the config's column mapping
"""
