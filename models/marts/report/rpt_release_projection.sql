{#-
    The projection section of the release report (patients rounded to whole numbers): for the latest landed month (period,
    the projection's as-of month), England's lists (the National series of every service
    added up, per category) and each trust's (its Trust series added up), projected month
    by month under the current trend and with the standard-meeting capacity (each
    series' meets_18_week_standard capacity; its current trend where it needs none), with
    the 80% interval (the series' bounds added up: as wide as if their errors moved
    together). Rows of kind 'service_clearance': per England service, months to clear the
    52+ week backlog on the current trend and with the 52-week standard's capacity.
-#}
{{ config(materialized='view') }}

with

projection as (

    select * from {{ ref('fct_waiting_list_projection') }}
    where org_level in ('National', 'Trust')

),

summary as (

    select * from {{ ref('fct_waiting_list_projection_summary') }}
    where org_level = 'National'

),

services as (

    select * from {{ ref('chs_services') }}

),

-- each series under the 18-week standard's capacity: its own rows where it needs some
-- (one pass over the rows, no self-join: PostgreSQL read the view in 5 minutes with one)
with_capacity as (

    select
        as_of_period,
        period,
        months_ahead,
        org_level,
        org_code,
        org_name,
        service_category,
        {%- for column in ['total_waiting', 'total_waiting_lower', 'total_waiting_upper', 'wait_52_plus_weeks'] %}
            coalesce(
                max(case when scenario = 'meets_18_week_standard' then {{ column }} end),
                max(case when scenario = 'current_trend' then {{ column }} end)
            ) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from projection
    where scenario in ('current_trend', 'meets_18_week_standard')
    group by
        as_of_period, period, months_ahead, org_level, org_code, org_name, service_category, service_key

),

scenarios as (

    select
        as_of_period,
        period,
        months_ahead,
        org_level,
        org_code,
        org_name,
        service_category,
        scenario,
        total_waiting,
        total_waiting_lower,
        total_waiting_upper,
        wait_52_plus_weeks
    from projection
    where scenario = 'current_trend'

    union all

    select
        as_of_period,
        period,
        months_ahead,
        org_level,
        org_code,
        org_name,
        service_category,
        'meets_18_week_standard' as scenario,
        total_waiting,
        total_waiting_lower,
        total_waiting_upper,
        wait_52_plus_weeks
    from with_capacity

),

lists as (

    select
        as_of_period as period,
        'list' as row_kind,
        case when org_level = 'National' then 'England' else org_code end as area_code,
        max(case when org_level = 'National' then 'England' else org_name end) as area_name,
        max(case when org_level = 'Trust' then org_code end) as trust_code,
        case when org_level = 'National' then service_category else 'all' end as service_category,
        cast(null as text) as service_key,
        cast(null as text) as service_name,
        scenario,
        period as projected_period,
        months_ahead,
        {{ round_to('sum(total_waiting)', 0) }} as total_waiting,
        {{ round_to('sum(total_waiting_lower)', 0) }} as total_waiting_lower,
        {{ round_to('sum(total_waiting_upper)', 0) }} as total_waiting_upper,
        {{ round_to('sum(wait_52_plus_weeks)', 0) }} as wait_52_plus_weeks,
        cast(null as double precision) as wait_52_plus_weeks_as_of,
        cast(null as integer) as trend_months_to_clear_52_plus_weeks,
        cast(null as integer) as standard_months_to_clear_52_plus_weeks,
        cast(null as double precision) as extra_weekly_capacity_52_weeks
    from scenarios
    group by
        as_of_period,
        case when org_level = 'National' then 'England' else org_code end,
        case when org_level = 'National' then service_category else 'all' end,
        scenario,
        period,
        months_ahead

),

clearance as (

    select
        trend.as_of_period as period,
        'service_clearance' as row_kind,
        'England' as area_code,
        'England' as area_name,
        cast(null as text) as trust_code,
        trend.service_category,
        trend.service_key,
        {{ service_name('services.service_label') }} as service_name,
        'current_trend' as scenario,
        cast(null as date) as projected_period,
        cast(null as integer) as months_ahead,
        trend.total_waiting_as_of as total_waiting,
        cast(null as double precision) as total_waiting_lower,
        cast(null as double precision) as total_waiting_upper,
        cast(null as double precision) as wait_52_plus_weeks,
        trend.wait_52_plus_weeks_as_of,
        trend.months_to_clear_52_plus_weeks as trend_months_to_clear_52_plus_weeks,
        case
            when trend.projected_extra_weekly_capacity_52_weeks = 0 then trend.months_to_clear_52_plus_weeks
            else standard.months_to_clear_52_plus_weeks
        end as standard_months_to_clear_52_plus_weeks,
        trend.projected_extra_weekly_capacity_52_weeks as extra_weekly_capacity_52_weeks
    from summary as trend
    inner join services
        on
            trend.service_category = services.service_category
            and trend.service_key = services.service_key
    left join summary as standard
        on
            trend.service_category = standard.service_category
            and trend.service_key = standard.service_key
            and standard.scenario = 'meets_52_week_standard'
    where trend.scenario = 'current_trend' and trend.wait_52_plus_weeks_as_of > 0

),

final as (

    select * from lists
    union all
    select * from clearance

)

select * from final
