{#-
    community_health_data, one JSON object per trust and month with community waits:
      {"adult_services": {"<service_key>": {...bands}}, "cyp_services": {...},
       "metadata": {"last_updated", "services_reported", "total_waiting_all_services",
                    "services_with_52plus_breaches"}}
    A service whose total is blank is omitted (a total of 0 is kept); the split bands
    wait_52_104_weeks / wait_104_plus_weeks appear only in months that publish them.
    last_updated is the release's cover-page date, so rebuilding gives identical JSON.

    Restated series: where a trust's figures count a predecessor's own provider rows
    (seeds/trust_successors.csv, a merger or a whole service moving: the months before
    the change, while the predecessor still reported), metadata also holds
      "restated_from": [{"predecessor_code", "change_kind", "effective_period",
                         "total_waiting"}, ...]
    (ordered by predecessor_code; total_waiting is the predecessor's part of
    total_waiting_all_services), so a reader comparing the trust with NHS England's
    published figure for its code knows why they differ. Other trust-months have no
    such key; the other keys are unchanged.

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
{%- for band in split_bands -%}{%- do split_pairs.extend(["'" ~ band ~ "'", band]) -%}{%- endfor -%}
{%- set metadata_pairs = [
    "'last_updated'", "metadata.last_updated",
    "'services_reported'", "metadata.services_reported",
    "'total_waiting_all_services'", "metadata.total_waiting_all_services",
    "'services_with_52plus_breaches'", "metadata.services_with_52plus_breaches",
] -%}
{#- the object's keys before metadata, and the metadata of a restated trust-month -#}
{%- set category_pairs = [
    "'adult_services'", "coalesce(adult.services, " ~ json_object([]) ~ ")",
    "'cyp_services'", "coalesce(cyp.services, " ~ json_object([]) ~ ")",
] -%}
{%- set restated_metadata_pairs = metadata_pairs + ["'restated_from'", "restatements.restated_from"] %}
-- depends_on: {{ source('raw_chs', 'load_log') }}

with

trust_services as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    where
        total_waiting is not null
        and {{ releases_to_process() }}

),

predecessor_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where
        org_type = 'Provider'
        and total_waiting is not null
        and {{ releases_to_process() }}

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}
    where successor_code is not null and trust_code is not null

),

predecessor_months as (

    -- a predecessor's own rows counted in its successor's trust, per month
    select
        trust_mapping.trust_code,
        predecessor_waits.period,
        predecessor_waits.org_code as predecessor_code,
        trust_mapping.successor_change_kind as change_kind,
        cast(trust_mapping.successor_effective_period as {{ dbt.type_string() }}) as effective_period,
        cast(sum(predecessor_waits.total_waiting) as bigint) as total_waiting
    from predecessor_waits
    inner join trust_mapping
        on predecessor_waits.org_code = trust_mapping.org_code
    group by
        trust_mapping.trust_code,
        predecessor_waits.period,
        predecessor_waits.org_code,
        trust_mapping.successor_change_kind,
        trust_mapping.successor_effective_period

),

restatements as (

    select
        trust_code,
        period,
        {{ json_array_agg(json_object([
            "'predecessor_code'", "predecessor_code",
            "'change_kind'", "change_kind",
            "'effective_period'", "effective_period",
            "'total_waiting'", "total_waiting",
        ]), 'predecessor_code') }} as restated_from
    from predecessor_months
    group by trust_code, period

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
        case
            when restatements.restated_from is null
                then {{ json_object(category_pairs + ["'metadata'", json_object(metadata_pairs)]) }}
            else {{ json_object(category_pairs + ["'metadata'", json_object(restated_metadata_pairs)]) }}
        end as community_health_data,
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
    left join restatements
        on
            metadata.trust_code = restatements.trust_code
            and metadata.period = restatements.period

)

select * from final
