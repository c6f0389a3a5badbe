{#-
    Custom schemas are used as given (staging, intermediate, marts, seeds) instead of
    dbt's default "<target schema>_<custom>", so the marts live in a schema called
    "marts" on every target. Models without a custom schema use the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
