-- Temporal consistency (warning, not an error: providers join and leave the collection).
-- Lists trusts with community data in fewer months than were landed (of the months
-- trust_metrics holds: its source's), with the months they do have, for the release notes.
{{ config(severity='warn', store_failures=true) }}

with

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

releases as (

    select * from {{ ref('stg_chs__load_log') }}
    where source_kind = 'chs_workbook' and is_current_release

),

landed as (

    select count(distinct releases.reporting_period) as months_landed
    from releases
    where releases.reporting_period in (select trust_metrics.period from trust_metrics)

),

per_trust as (

    select
        trust_code,
        count(*) as months_with_data,
        string_agg(cast(period as {{ dbt.type_string() }}), ', ' order by period) as periods_with_data
    from trust_metrics
    where community_health_data is not null
    group by trust_code

),

incomplete as (

    select
        per_trust.trust_code,
        per_trust.months_with_data,
        landed.months_landed,
        per_trust.periods_with_data
    from per_trust
    cross join landed
    where per_trust.months_with_data < landed.months_landed

)

select * from incomplete
