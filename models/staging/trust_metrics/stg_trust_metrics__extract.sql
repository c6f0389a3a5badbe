{#-
    The trust_metrics extract, typed. Identity columns are named; the metric columns
    (RTT, A&E, diagnostics, capacity: over 260 of them) are read from the landed table so
    a column added to the extract flows through without editing this model.
-#}
{#- Enabled unless the var trust_metrics_source is `live` (stg_trust_metrics__live instead). -#}
{{ config(enabled=trust_metrics_source() != 'live') }}
{%- set identity_columns = ['trust_code', 'trust_name', 'period', 'icb_code', 'icb_name'] -%}
{%- set source_relation = source('raw_trust_metrics', 'trust_metrics_extract') -%}
{%- set metric_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(source_relation) -%}
        {%- if column.name | lower not in identity_columns and not column.name.startswith('_') -%}
            {%- do metric_columns.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

with

source as (

    select * from {{ source_relation }}

),

renamed as (

    select
        ---------- ids
        upper(trim(trust_code)) as trust_code,
        cast(period as date) as period,
        ---------- names
        trim(trust_name) as trust_name,
        upper(trim(icb_code)) as icb_code,
        trim(icb_name) as icb_name,
        ---------- metrics
        {%- for column in metric_columns %}
        cast({{ adapter.quote(column) }} as {{ dbt.type_float() }}) as {{ column }},
        {%- endfor %}
        ---------- lineage
        _file_sha256 as source_file_sha256,
        _row_number as source_row_number
    from source

)

select * from renamed
