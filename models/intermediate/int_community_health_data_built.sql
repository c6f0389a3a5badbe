{#-
    community_health_data, one JSON object per trust and month with community waits:
      {"adult_services": {"<service_key>": {...bands}}, "cyp_services": {...},
       "metadata": {"last_updated", "services_reported", "total_waiting_all_services",
                    "services_with_52plus_breaches"}}
    A service whose total is blank is omitted (a total of 0 is kept); the split bands
    wait_52_104_weeks / wait_104_plus_weeks appear only in months that publish them.
    last_updated is the release's cover-page date, so rebuilding gives identical JSON.

    Incremental by release (macros/incremental_by_release.sql): a monthly build makes the
    objects of the new month only; editing trust_mapping.csv (or the seeds the pivot
    reads) remakes every month.
-#}
{{ config(**incremental_by_release_config(['file_sha256', 'trust_code', 'period'])) }}
{%- set core_bands = waiting_measures()[:8] -%}
{%- set split_bands = waiting_measures()[8:] -%}
{%- set core_pairs = [] -%}
{%- for band in core_bands -%}{%- do core_pairs.extend(["'" ~ band ~ "'", band]) -%}{%- endfor -%}
{%- set split_pairs = core_pairs[:] -%}
{%- for band in split_bands -%}{%- do split_pairs.extend(["'" ~ band ~ "'", band]) -%}{%- endfor %}
-- depends_on: {{ source('raw_chs', 'load_log') }}

with

trust_services as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    where
        total_waiting is not null
        and {{ releases_to_process() }}

),

service_objects as (

    select
        trust_code,
        period,
        service_category,
        service_key,
        total_waiting,
        wait_52_plus_weeks,
        released_on,
        file_sha256,
        case
            when has_52_week_split then {{ json_object(split_pairs) }}
            else {{ json_object(core_pairs) }}
        end as service_data
    from trust_services

),

category_objects as (

    select
        trust_code,
        period,
        service_category,
        {{ json_object_agg('service_key', 'service_data') }} as services
    from service_objects
    group by trust_code, period, service_category

),

metadata as (

    select
        trust_code,
        period,
        file_sha256,
        cast(max(released_on) as {{ dbt.type_string() }}) as last_updated,
        count(*) as services_reported,
        cast(sum(total_waiting) as bigint) as total_waiting_all_services,
        sum(case when wait_52_plus_weeks > 0 then 1 else 0 end) as services_with_52plus_breaches
    from service_objects
    group by trust_code, period, file_sha256

),

final as (

    select
        metadata.trust_code,
        metadata.period,
        metadata.services_reported,
        metadata.total_waiting_all_services,
        metadata.services_with_52plus_breaches,
        {{ json_object([
            "'adult_services'", "coalesce(adult.services, " ~ json_object([]) ~ ")",
            "'cyp_services'", "coalesce(cyp.services, " ~ json_object([]) ~ ")",
            "'metadata'", json_object([
                "'last_updated'", "metadata.last_updated",
                "'services_reported'", "metadata.services_reported",
                "'total_waiting_all_services'", "metadata.total_waiting_all_services",
                "'services_with_52plus_breaches'", "metadata.services_with_52plus_breaches",
            ]),
        ]) }} as community_health_data,
        metadata.file_sha256,
        '{{ seeds_checksum() }}' as seeds_checksum
    from metadata
    left join category_objects as adult  -- noqa: ST11
        on
            metadata.trust_code = adult.trust_code
            and metadata.period = adult.period
            and adult.service_category = 'adult'
    left join category_objects as cyp  -- noqa: ST11
        on
            metadata.trust_code = cyp.trust_code
            and metadata.period = cyp.period
            and cyp.service_category = 'cyp'

)

select * from final
