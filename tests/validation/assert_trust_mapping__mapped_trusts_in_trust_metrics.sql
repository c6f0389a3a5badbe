-- Every trust code the mapping seed maps to exists in trust_metrics; and every provider
-- the seed maps has its trust in trust_metrics for each month it reports that the
-- trust_metrics source covers, so its community data has a row to land on (older months
-- landed for longer trends have no trust_metrics rows at all). Known exceptions: none in
-- 2024-25.
with

trust_mapping as (

    select * from {{ ref('trust_mapping') }}
    where trust_code is not null

),

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where {{ in_trust_metrics_months('source_file_sha256') }}

),

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

unknown_codes as (

    select
        trust_mapping.org_code,
        trust_mapping.trust_code,
        cast(null as date) as period,
        'trust_code not in trust_metrics' as problem
    from trust_mapping
    where trust_mapping.trust_code not in (select trust_metrics.trust_code from trust_metrics)

),

missing_months as (

    select distinct
        community_waits.org_code,
        community_waits.trust_code,
        community_waits.period,
        'trust has no trust_metrics row for a month it reports' as problem
    from community_waits
    left join trust_metrics
        on
            community_waits.trust_code = trust_metrics.trust_code
            and community_waits.period = trust_metrics.period
    where
        community_waits.trust_code is not null
        and community_waits.total_waiting is not null
        and trust_metrics.trust_code is null

),

problems as (

    select * from unknown_codes
    union all
    select * from missing_months

)

select * from problems
