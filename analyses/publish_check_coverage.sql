-- Status report, validation query 1 on the live table, after a publish: per month, how
-- many trusts have community_health_data in the live trust_metrics table, against the
-- marts (community_period_coverage), and how many live rows still differ from the mart.
-- `python -m loader publish` runs it inside its transaction and commits only when every
-- month matches: no live row differs, and the live table's trusts with community data
-- are the mart's less those it lacks.
with

coverage as (

    select * from {{ ref('community_period_coverage') }}

),

plan as (

    {{ live_publish_plan() }}

),

live_coverage as (

    select
        period,
        count(distinct case when previous_value is not null then trust_code end) as live_trusts_with_community_data,
        count(*) filter (where action in ('update', 'clear')) as live_rows_differing,
        count(*) filter (where action = 'missing') as trust_months_missing
    from plan
    where action != 'absent'
    group by period

)

select
    coverage.period,
    coverage.trusts_with_community_data as mart_trusts_with_community_data,
    live_coverage.live_trusts_with_community_data,
    live_coverage.live_rows_differing,
    live_coverage.trust_months_missing,
    (
        live_coverage.live_rows_differing = 0
        and live_coverage.live_trusts_with_community_data
        = coverage.trusts_with_community_data - live_coverage.trust_months_missing
    ) as coverage_matches
from coverage
inner join live_coverage
    on coverage.period = live_coverage.period
order by coverage.period
