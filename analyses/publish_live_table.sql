-- The live trust_metrics table `python -m loader publish` writes to, as dbt resolves the
-- source trust_metrics_live (schema and name from the vars live_schema / live_table, env
-- CHS_LIVE_SCHEMA / CHS_LIVE_TABLE): one place decides which table that is.
select
    '{{ source("trust_metrics_live", "trust_metrics").schema }}' as live_schema,
    '{{ source("trust_metrics_live", "trust_metrics").identifier }}' as live_table
