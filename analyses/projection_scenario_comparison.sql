-- What would it take, per trust and service, and what would it buy? For each Trust x
-- service list at the latest landed month: the current trend (when its 52+ week backlog
-- clears, the list and % within 18 weeks at the 18-week target month) beside the least
-- extra weekly capacity that meets each standard on the projection (and when the backlog
-- clears with it), and the capacity mart's NHS-R relief estimate for comparison. The
-- question a commissioner or an insourcing provider asks: how many more patients a week,
-- from next month, and what changes. Largest 18-week capacity first.
with

summary as (

    select * from {{ ref('fct_waiting_list_projection_summary') }}
    where org_level = 'Trust'

),

trend as (

    select * from summary
    where scenario = 'current_trend'

),

with_standard as (

    select
        org_code,
        service_category,
        service_key,
        max(case when scenario = 'meets_18_week_standard' then period_52_plus_weeks_cleared end)
            as cleared_with_18_week_capacity,
        max(case when scenario = 'meets_52_week_standard' then period_52_plus_weeks_cleared end)
            as cleared_with_52_week_capacity
    from summary
    where scenario in ('meets_18_week_standard', 'meets_52_week_standard')
    group by org_code, service_category, service_key

),

final as (

    select
        trend.as_of_period,
        trend.org_code as trust_code,
        trend.org_name as trust_name,
        trend.service_category,
        trend.service_key,
        trend.total_waiting_as_of,
        trend.wait_52_plus_weeks_as_of,
        -- the current trend
        trend.period_52_plus_weeks_cleared as trend_52_plus_cleared,
        trend.total_waiting_at_target_18_weeks as trend_list_at_18_week_target,
        trend.pct_within_18_weeks_at_target_18_weeks as trend_pct_within_18_weeks_at_target,
        trend.meets_18_weeks_at_target as trend_meets_18_weeks,
        trend.meets_52_weeks_at_target as trend_meets_52_weeks,
        -- the capacity each standard needs, from next month, and what it does
        trend.projected_extra_weekly_capacity_18_weeks,
        case
            when trend.projected_extra_weekly_capacity_18_weeks = 0 then trend.period_52_plus_weeks_cleared
            else with_standard.cleared_with_18_week_capacity
        end as cleared_with_18_week_capacity,
        trend.nhsr_extra_weekly_capacity_18_weeks,
        trend.projected_extra_weekly_capacity_52_weeks,
        case
            when trend.projected_extra_weekly_capacity_52_weeks = 0 then trend.period_52_plus_weeks_cleared
            else with_standard.cleared_with_52_week_capacity
        end as cleared_with_52_week_capacity,
        trend.nhsr_extra_weekly_capacity_52_weeks
    from trend
    left join with_standard
        on
            trend.org_code = with_standard.org_code
            and trend.service_category = with_standard.service_category
            and trend.service_key = with_standard.service_key

)

select * from final
order by projected_extra_weekly_capacity_18_weeks desc nulls last, trust_code asc, service_key asc
