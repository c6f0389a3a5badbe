-- Every month landed (a current release in the load log) reaches the community marts
-- (fct_community_waits has its rows) and, if the trust_metrics source covers the month,
-- trust_metrics has community data for at least one trust in it. A month that lands but
-- never reaches the marts (a title that no longer parses, a layout the staging model
-- cannot read) fails here. Months the source does not cover (older workbooks landed for
-- longer trends) cannot be in trust_metrics, which holds its source's months only.
-- fct_community_waits is a view of int_community_waits_pivoted, row for row (its joins
-- add columns), so a release's rows are looked up in that table, as the incremental
-- models look up theirs (release_not_held): through the view, the look-up computed its
-- joins for every month held (8.5 s of a 20 s monthly build at 120 months on PostgreSQL).
with

releases as (

    select * from {{ ref('stg_chs__load_log') }}
    where source_kind = 'chs_workbook' and is_current_release

),

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

trust_metrics_months as (

    select
        period,
        count(community_health_data) as trusts_with_community_data
    from trust_metrics
    group by period

),

missing as (

    select
        releases.reporting_period,
        releases.file_name,
        case
            when trust_metrics_months.period is null then 'no rows in fct_community_waits'
            else 'no community data in trust_metrics'
        end as problem
    from releases
    left join trust_metrics_months
        on releases.reporting_period = trust_metrics_months.period
    where
        trust_metrics_months.trusts_with_community_data = 0
        or (
            trust_metrics_months.period is null
            and {{ release_not_held(ref('int_community_waits_pivoted')) }}
        )

)

select * from missing
