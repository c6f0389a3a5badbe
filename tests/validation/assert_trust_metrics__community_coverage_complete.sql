-- Complete coverage. For every landed month that the trust_metrics source covers, each
-- trust that the mapping matches and that reported a waiting list in that month's
-- workbook (a non-blank total for at least one service, on a Provider row mapped to it)
-- has community_health_data in trust_metrics, and no trust-month has community data
-- without such a source row. Compared trust by trust with the source, not with a fixed
-- count. Known exceptions: none. A mapped trust missing from trust_metrics for a month is
-- reported by assert_trust_mapping__mapped_trusts_in_trust_metrics, not here.
with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where {{ in_trust_metrics_months('source_file_sha256') }}

),

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

reported as (

    select distinct
        community_waits.period,
        community_waits.trust_code
    from community_waits
    inner join trust_metrics
        on
            community_waits.trust_code = trust_metrics.trust_code
            and community_waits.period = trust_metrics.period
    where
        community_waits.org_type = 'Provider'
        and community_waits.total_waiting is not null

),

with_community_data as (

    select
        period,
        trust_code
    from trust_metrics
    where community_health_data is not null

),

mismatches as (

    select
        coalesce(reported.period, with_community_data.period) as period,
        coalesce(reported.trust_code, with_community_data.trust_code) as trust_code,
        case
            when with_community_data.trust_code is null then 'reported in the workbook, no community_health_data'
            else 'community_health_data without a reporting provider'
        end as problem
    from reported
    full outer join with_community_data
        on
            reported.period = with_community_data.period
            and reported.trust_code = with_community_data.trust_code
    where reported.trust_code is null or with_community_data.trust_code is null

)

select * from mismatches
