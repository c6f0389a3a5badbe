-- Metadata consistency. In every community_health_data object, metadata.services_reported,
-- total_waiting_all_services and services_with_52plus_breaches equal what its
-- adult_services and cyp_services entries say. Checks the objects trust_metrics does not
-- show yet, in the months its source covers: it runs before trust_metrics and a failure
-- stops it, so a bad object is checked until it passes (macros/validation_scope.sql).
-- depends_on: {{ ref('int_trust_metrics_deduplicated') }}
with

community_health as (

    select * from {{ ref('int_community_health_data_built') }} as built  -- noqa: AL05
    where {{ community_health_data_not_yet_published('built') }}

),

categories as (

    select 'adult_services' as category
    union all
    select 'cyp_services' as category

),

service_keys as (

    select
        community_health.trust_code,
        community_health.period,
        community_health.community_health_data,
        categories.category,
        {{ json_object_keys('community_health.community_health_data', 'categories.category') }} as service_key
    from community_health
    cross join categories

),

services as (

    select
        trust_code,
        period,
        cast(
            {{ json_get_text('community_health_data', ['category', 'service_key', "'total_waiting'"]) }}
            as bigint
        ) as total_waiting,
        cast(
            {{ json_get_text('community_health_data', ['category', 'service_key', "'wait_52_plus_weeks'"]) }}
            as bigint
        ) as wait_52_plus_weeks
    from service_keys

),

recomputed as (

    select
        trust_code,
        period,
        count(*) as services_reported,
        sum(total_waiting) as total_waiting_all_services,
        sum(case when wait_52_plus_weeks > 0 then 1 else 0 end) as services_with_52plus_breaches
    from services
    group by trust_code, period

),

stated as (

    select
        trust_code,
        period,
        cast(
            {{ json_get_text('community_health_data', ["'metadata'", "'services_reported'"]) }}
            as bigint
        ) as services_reported,
        cast(
            {{ json_get_text('community_health_data', ["'metadata'", "'total_waiting_all_services'"]) }}
            as bigint
        ) as total_waiting_all_services,
        cast(
            {{ json_get_text('community_health_data', ["'metadata'", "'services_with_52plus_breaches'"]) }}
            as bigint
        ) as services_with_52plus_breaches
    from community_health

),

mismatches as (

    select
        stated.trust_code,
        stated.period,
        stated.services_reported,
        recomputed.services_reported as services_in_json,
        stated.total_waiting_all_services,
        recomputed.total_waiting_all_services as total_in_json,
        stated.services_with_52plus_breaches,
        recomputed.services_with_52plus_breaches as breaches_in_json
    from stated
    left join recomputed
        on
            stated.trust_code = recomputed.trust_code
            and stated.period = recomputed.period
    where
        recomputed.trust_code is null
        or stated.services_reported != recomputed.services_reported
        or stated.total_waiting_all_services != recomputed.total_waiting_all_services
        or stated.services_with_52plus_breaches != recomputed.services_with_52plus_breaches

)

select * from mismatches
