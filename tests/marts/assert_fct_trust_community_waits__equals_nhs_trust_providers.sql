-- The trust mart holds every NHS trust provider and nothing else. Per month, its total
-- and 52+ week waits equal the Provider rows of fct_community_waits that count towards an
-- NHS trust: a trust_metrics trust (trust_code, successors applied) or an NHS trust
-- trust_metrics does not hold (`not_in_trust_metrics` in seeds/trust_mapping.csv); the
-- trusts of trust_metrics equal int_trust_community_services_aggregated (the figures of
-- community_health_data); and no provider that is `not_an_nhs_trust` is a trust there.
-- Reads the months this build flagged (macros/level_marts.sql), every month on a first build.
-- depends_on: {{ ref('int_organisation_months_flagged') }}
with

trust_waits as (

    select * from {{ ref('fct_trust_community_waits') }}
    where {{ months_flagged_by_this_build() }}

),

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'Provider' and {{ months_flagged_by_this_build() }}

),

trust_metrics_services as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    where {{ months_flagged_by_this_build() }}

),

trust_mapping as (

    select * from {{ ref('trust_mapping') }}

),

nhs_trust_providers as (

    select
        community_waits.period,
        cast(sum(community_waits.total_waiting) as bigint) as total_waiting,
        cast(sum(community_waits.wait_52_plus_weeks) as bigint) as wait_52_plus_weeks,
        cast(sum(case when community_waits.trust_code is not null then community_waits.total_waiting end) as bigint)
            as total_waiting_in_trust_metrics
    from community_waits
    left join trust_mapping
        on community_waits.org_code = trust_mapping.org_code
    where community_waits.trust_code is not null or trust_mapping.match_reason = 'not_in_trust_metrics'
    group by community_waits.period

),

trust_totals as (

    select
        period,
        cast(sum(total_waiting) as bigint) as total_waiting,
        cast(sum(wait_52_plus_weeks) as bigint) as wait_52_plus_weeks,
        cast(sum(case when in_trust_metrics then total_waiting end) as bigint) as total_waiting_in_trust_metrics
    from trust_waits
    group by period

),

community_health_totals as (

    select
        period,
        cast(sum(total_waiting) as bigint) as total_waiting
    from trust_metrics_services
    group by period

),

mismatched_months as (

    select
        coalesce(trust_totals.period, nhs_trust_providers.period) as period,
        'totals differ' as failure,
        trust_totals.total_waiting as mart_total_waiting,
        nhs_trust_providers.total_waiting as providers_total_waiting,
        trust_totals.total_waiting_in_trust_metrics as mart_in_trust_metrics,
        community_health_totals.total_waiting as community_health_data_total,
        cast(null as {{ dbt.type_string() }}) as trust_code
    from trust_totals
    full outer join nhs_trust_providers
        on trust_totals.period = nhs_trust_providers.period
    left join community_health_totals
        on coalesce(trust_totals.period, nhs_trust_providers.period) = community_health_totals.period
    where
        trust_totals.period is null
        or nhs_trust_providers.period is null
        or trust_totals.total_waiting != nhs_trust_providers.total_waiting
        or trust_totals.wait_52_plus_weeks != nhs_trust_providers.wait_52_plus_weeks
        or trust_totals.total_waiting_in_trust_metrics != nhs_trust_providers.total_waiting_in_trust_metrics
        or trust_totals.total_waiting_in_trust_metrics != community_health_totals.total_waiting

),

not_nhs_trusts as (

    select
        trust_waits.period,
        'a provider that is not an NHS trust' as failure,
        trust_waits.total_waiting as mart_total_waiting,
        cast(null as bigint) as providers_total_waiting,
        cast(null as bigint) as mart_in_trust_metrics,
        cast(null as bigint) as community_health_data_total,
        trust_waits.trust_code
    from trust_waits
    inner join trust_mapping
        on trust_waits.trust_code = trust_mapping.org_code
    where trust_mapping.match_reason = 'not_an_nhs_trust'

),

failures as (

    select * from mismatched_months
    union all
    select * from not_nhs_trusts

)

select * from failures
