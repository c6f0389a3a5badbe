{#-
    Where the trust list and its RTT, A&E, diagnostics and capacity figures come from:
    `extract` (the landed CSV, raw_trust_metrics; the default) or `live` (the team's live
    trust_metrics table, source trust_metrics_live, on PostgreSQL). The var
    trust_metrics_source, else the environment variable CHS_TRUST_METRICS_SOURCE.
-#}
{% macro trust_metrics_source() -%}
    {%- set source = var('trust_metrics_source', env_var('CHS_TRUST_METRICS_SOURCE', 'extract')) | trim -%}
    {%- if source not in ('extract', 'live') -%}
        {{ exceptions.raise_compiler_error(
            "trust_metrics_source must be 'extract' or 'live', not '" ~ source ~ "' (CHS_TRUST_METRICS_SOURCE)"
        ) }}
    {%- endif -%}
    {{ return(source) }}
{%- endmacro %}
