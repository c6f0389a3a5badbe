{#-
    One row per month x organisation x service with the total and each weeks-waited band
    as columns. Measures and services are matched to the seeds by their published text;
    an unknown service label or band stops the build with the label in the error, so a
    new or renamed column can never be dropped or shifted onto another service.
-#}
{#-
    Incremental by release (macros/incremental_by_release.sql), like the staging model it
    reads: a run pivots only releases it has not pivoted with the current seeds, so
    editing chs_services.csv or chs_wait_bands.csv reprocesses every release. Indexed on
    period and org_type too (PostgreSQL): the views over it that read one month or the
    National rows (the release report's) then read those rows, not every month held.
-#}
{%- set indexed_columns = ['period', 'org_type'] %}
{{ config(**incremental_by_release_config(['file_sha256', 'org_type', 'org_code'], indexed_columns=indexed_columns)) }}
-- depends_on: {{ source('raw_chs', 'load_log') }}

{%- set unknown_service = raise_error(
    "'unknown service label (add it to seeds/chs_services.csv): ' || waiting_list_values.service_label"
) %}
{%- set unknown_band = raise_error(
    "'unknown weeks-waited band in a table title: ' || waiting_list_values.measure_label"
) %}

with

waiting_list_values as (

    select * from {{ ref('stg_chs__waiting_list_values') }}
    where {{ releases_to_process() }}

),

services as (

    select * from {{ ref('chs_services') }}

),

wait_bands as (

    select * from {{ ref('chs_wait_bands') }}

),

classified as (

    select
        waiting_list_values.file_sha256,
        waiting_list_values.period,
        waiting_list_values.org_type,
        waiting_list_values.org_code,
        waiting_list_values.org_name,
        waiting_list_values.service_label,
        services.service_category,
        -- the check sits in an output column so no optimiser can prune it
        case
            when services.service_key is null then {{ unknown_service }}  -- noqa: ST02
            else services.service_key
        end as service_key,
        services.published_order,
        cast(waiting_list_values.value_number as bigint) as waiting,
        case
            when waiting_list_values.measure_label = 'Total waiting list' then 'total_waiting'
            when wait_bands.band_key is not null then wait_bands.band_key
            else {{ unknown_band }}
        end as measure_key
    from waiting_list_values
    left join services
        on waiting_list_values.service_label = services.service_label
    left join wait_bands
        on lower(waiting_list_values.measure_label) = lower(wait_bands.title_label)

),

pivoted as (

    select
        file_sha256,
        period,
        org_type,
        org_code,
        max(org_name) as org_name,
        service_label,
        service_category,
        service_key,
        published_order,
        max(case when measure_key = 'total_waiting' then waiting end) as total_waiting,
        max(case when measure_key = 'wait_0_1_weeks' then waiting end) as wait_0_1_weeks,
        max(case when measure_key = 'wait_1_2_weeks' then waiting end) as wait_1_2_weeks,
        max(case when measure_key = 'wait_2_4_weeks' then waiting end) as wait_2_4_weeks,
        max(case when measure_key = 'wait_4_12_weeks' then waiting end) as wait_4_12_weeks,
        max(case when measure_key = 'wait_12_18_weeks' then waiting end) as wait_12_18_weeks,
        max(case when measure_key = 'wait_18_52_weeks' then waiting end) as wait_18_52_weeks,
        max(case when measure_key = 'wait_52_plus_weeks' then waiting end) as published_52_plus_weeks,
        max(case when measure_key = 'wait_52_104_weeks' then waiting end) as wait_52_104_weeks,
        max(case when measure_key = 'wait_104_plus_weeks' then waiting end) as wait_104_plus_weeks,
        max(case when measure_key = 'wait_52_104_weeks' then 1 else 0 end) as has_52_week_split
    from classified
    group by
        file_sha256,
        period,
        org_type,
        org_code,
        service_label,
        service_category,
        service_key,
        published_order

),

final as (

    select
        file_sha256,
        period,
        org_type,
        org_code,
        org_name,
        service_label,
        service_category,
        service_key,
        published_order,
        total_waiting,
        wait_0_1_weeks,
        wait_1_2_weeks,
        wait_2_4_weeks,
        wait_4_12_weeks,
        wait_12_18_weeks,
        wait_18_52_weeks,
        -- canonical over-52-weeks: as published until November 2024, then the sum of the
        -- 52-104 and over-104 bands that replaced it (null only when both are blank)
        case
            when has_52_week_split = 1
                then case
                        when wait_52_104_weeks is not null or wait_104_plus_weeks is not null
                            then coalesce(wait_52_104_weeks, 0) + coalesce(wait_104_plus_weeks, 0)
                    end
            else published_52_plus_weeks
        end as wait_52_plus_weeks,
        wait_52_104_weeks,
        wait_104_plus_weeks,
        has_52_week_split = 1 as has_52_week_split,
        '{{ seeds_checksum() }}' as seeds_checksum
    from pivoted

)

select * from final
