{#-
    trust_metrics: one row per NHS trust and month of the existing extract, with its
    RTT, A&E, diagnostics and capacity figures as JSON by domain, and the community
    waiting lists of the providers mapped to the trust as community_health_data
    (null for trust-months without community data). jsonb + GIN index on PostgreSQL.

    Incremental by difference: a build computes every row (a join of two small tables)
    but writes only the rows that differ from the table, new ones included, and deletes
    rows whose trust-month left the extract. A monthly release changes one month's
    community_health_data; rewriting all 1,812 rows with their JSON was a third of the
    run on DuckDB. Anything upstream that changes a row (a revision, a seed edit, a new
    extract) shows up as a difference, so no bookkeeping is needed.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['trust_code', 'period'],
    on_schema_change='fail',
    post_hook=[
        "{{ trust_months_not_in_extract_deleted() }}",
        "{{ create_json_index(this, 'community_health_data') }}",
    ],
) }}

with

trust_months as (

    select * from {{ ref('int_trust_metrics_deduplicated') }}

),

community_health as (

    select * from {{ ref('int_community_health_data_built') }}

),

final as (

    select
        trust_months.trust_code,
        trust_months.trust_name,
        trust_months.period,
        trust_months.icb_code,
        trust_months.icb_name,
        trust_months.rtt_data,
        trust_months.ae_data,
        trust_months.diagnostics_data,
        trust_months.capacity_data,
        community_health.community_health_data
    from trust_months
    left join community_health
        on
            trust_months.trust_code = community_health.trust_code
            and trust_months.period = community_health.period

),

changed as (

    -- on an incremental run: the rows that are new or differ from the table
    select final.*
    from final
    {%- if is_incremental() %}
    left join {{ this }} as published
        on
            final.trust_code = published.trust_code
            and final.period = published.period
    where
        published.trust_code is null
        {%- for column in ['trust_name', 'icb_code', 'icb_name', 'rtt_data', 'ae_data',
                           'diagnostics_data', 'capacity_data', 'community_health_data'] %}
            or final.{{ column }} is distinct from published.{{ column }}
        {%- endfor %}
    {%- endif %}

)

select * from changed
