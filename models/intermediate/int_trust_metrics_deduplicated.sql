{#-
    One row per trust and month of the trust_metrics extract, its metric columns folded
    into one JSON object per domain (null when the trust has no figure in that domain).

    The extract is not unique on (trust_code, period): RVR has two rows in April-July
    2025 that differ only in virtual_ward_capacity. The row latest in the extract wins
    (as an upsert of the file in order would leave it); the source test
    assert_trust_metrics_extract__one_row_per_trust_month warns with the duplicates.
-#}
{{ config(materialized='table') }}
{#- the extract or the live table, as the var trust_metrics_source says: the same columns -#}
{%- if trust_metrics_source() == 'live' -%}
    {%- set extract_relation = ref('stg_trust_metrics__live') -%}
{%- else -%}
    {%- set extract_relation = ref('stg_trust_metrics__extract') -%}
{%- endif -%}
{%- set domain_columns = trust_metrics_domain_columns(extract_relation) -%}

with

trust_metrics_extract as (

    select * from {{ extract_relation }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by trust_code, period
            order by source_row_number desc
        ) as duplicate_rank
    from trust_metrics_extract

),

deduplicated as (

    select * from ranked
    where duplicate_rank = 1

),

final as (

    select
        trust_code,
        period,
        trust_name,
        icb_code,
        icb_name,
        {%- for domain, columns in domain_columns.items() %}
        {{ json_object_of_columns(columns) }} as {{ domain }},  -- noqa: LT02
        {%- endfor %}
        source_file_sha256,
        source_row_number
    from deduplicated

)

select * from final
