-- Primary keys of the level views and the trust mart: each is unique on its key and no
-- key column is null (nulls grouped as a key of their own). Reads the months this build
-- flagged (macros/level_marts.sql), every month on a first build.
-- depends_on: {{ ref('int_organisation_months_flagged') }}
with

national_keys as (

    select
        'fct_national_community_waits' as mart,
        period,
        cast(null as {{ dbt.type_string() }}) as organisation_code,
        service_category,
        service_key,
        count(*) as row_count,
        period is null or service_category is null or service_key is null as has_null_key
    from {{ ref('fct_national_community_waits') }}
    where {{ months_flagged_by_this_build() }}
    group by period, service_category, service_key

),

region_keys as (

    select
        'fct_region_community_waits' as mart,
        period,
        region_code as organisation_code,
        service_category,
        service_key,
        count(*) as row_count,
        period is null or region_code is null or service_category is null or service_key is null as has_null_key
    from {{ ref('fct_region_community_waits') }}
    where {{ months_flagged_by_this_build() }}
    group by period, region_code, service_category, service_key

),

icb_keys as (

    select
        'fct_icb_community_waits' as mart,
        period,
        icb_code as organisation_code,
        service_category,
        service_key,
        count(*) as row_count,
        period is null or icb_code is null or service_category is null or service_key is null as has_null_key
    from {{ ref('fct_icb_community_waits') }}
    where {{ months_flagged_by_this_build() }}
    group by period, icb_code, service_category, service_key

),

provider_keys as (

    select
        'fct_provider_community_waits' as mart,
        period,
        org_code as organisation_code,
        service_category,
        service_key,
        count(*) as row_count,
        period is null or org_code is null or service_category is null or service_key is null as has_null_key
    from {{ ref('fct_provider_community_waits') }}
    where {{ months_flagged_by_this_build() }}
    group by period, org_code, service_category, service_key

),

trust_keys as (

    select
        'fct_trust_community_waits' as mart,
        period,
        trust_code as organisation_code,
        service_category,
        service_key,
        count(*) as row_count,
        period is null or trust_code is null or service_category is null or service_key is null as has_null_key
    from {{ ref('fct_trust_community_waits') }}
    where {{ months_flagged_by_this_build() }}
    group by period, trust_code, service_category, service_key

),

failures as (

    select * from national_keys
    union all
    select * from region_keys
    union all
    select * from icb_keys
    union all
    select * from provider_keys
    union all
    select * from trust_keys

),

failing as (

    select * from failures
    where row_count > 1 or has_null_key

)

select * from failing
