"""Analytics: the read side over clicks, claims, orders, refunds and commission.

Facts are copied from the OLTP database into an analytics store (DuckDB embedded by default,
ClickHouse at scale) by an incremental extract; every report is one query written once in DuckDB's
SQL and transpiled for ClickHouse by SQLGlot.
"""
