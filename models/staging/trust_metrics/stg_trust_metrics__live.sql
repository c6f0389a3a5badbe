{#-
    The live trust_metrics table, normalised to the extract's shape: one row per trust and
    month (data_type 'monthly'), its nested JSON figures read into the same typed columns
    that stg_trust_metrics__extract gives, named as the extract names them. Which JSON path
    feeds which column is the seed trust_metrics_live_fields (one reviewed row per column),
    so the marts, tests and analyses read the same columns from either source.

    Enabled when the var trust_metrics_source is `live`.
-#}
{{ config(enabled=trust_metrics_source() == 'live') }}
-- depends_on: {{ ref('trust_metrics_live_fields') }}
{%- set fields = [] -%}
{%- if execute -%}
    {%- set field_rows = run_query(
        'select extract_column, live_column, live_path from ' ~ ref('trust_metrics_live_fields')
        ~ ' order by extract_column'
    ) -%}
    {%- for row in field_rows.rows -%}
        {%- do fields.append(row) -%}
    {%- endfor -%}
{%- endif %}

with

source as (

    select * from {{ source('trust_metrics_live', 'trust_metrics') }}
    where data_type = 'monthly'

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
        ---------- metrics, by the paths of the seed
        {%- for extract_column, live_column, live_path in fields %}
        {%- set path = [] %}
        {%- for key in live_path.split('.') %}{% do path.append("'" ~ key ~ "'") %}{% endfor %}
        cast({{ json_get_text(live_column, path) }} as {{ dbt.type_float() }}) as {{ extract_column }},
        {%- endfor %}
        ---------- lineage: the live table has no file; of a repeated trust-month the row
        ---------- created last wins, as the extract's last line does (not the row updated
        ---------- last: publishing community_health_data updates rows too)
        cast(null as {{ dbt.type_string() }}) as source_file_sha256,
        cast(row_number() over (order by created_at, cast(id as {{ dbt.type_string() }})) as integer)
            as source_row_number
    from source

)

select * from renamed
