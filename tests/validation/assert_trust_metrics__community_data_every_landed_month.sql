-- Every month landed (a current release in the load log) has community data for at
-- least one trust in trust_metrics: a month that lands but never reaches the marts
-- (a title that no longer parses, a layout the staging model cannot read) fails here.
with

releases as (

    select * from {{ ref('stg_chs__load_log') }}
    where source_kind = 'chs_workbook' and is_current_release

),

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

months_with_data as (

    select
        period,
        count(*) as trusts_with_community_data
    from trust_metrics
    where community_health_data is not null
    group by period

),

missing as (

    select
        releases.reporting_period,
        releases.file_name
    from releases
    left join months_with_data
        on releases.reporting_period = months_with_data.period
    where months_with_data.period is null

)

select * from missing
