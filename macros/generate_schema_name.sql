{#-
    Custom schemas are used as given (staging, intermediate, marts, seeds) instead of
    dbt's default "<target schema>_<custom>", so the marts live in a schema called
    "marts" on every target. Models without a custom schema use the target's schema.

    `review_schema_prefix` (a var, empty by default) puts every schema dbt writes behind a
    prefix: `make review` builds the base tree with `base_` and the current tree with
    `pr_` (marts -> base_marts, pr_marts), beside the user's schemas in the same
    warehouse, reading the same landed sources (sources keep their own schemas).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = var('review_schema_prefix', '') -%}
    {%- if custom_schema_name is none -%}
        {{ prefix ~ target.schema }}
    {%- else -%}
        {{ prefix ~ (custom_schema_name | trim) }}
    {%- endif -%}
{%- endmacro %}
