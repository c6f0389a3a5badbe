{#-
    The projection's backtest: for every as-of month of int_projection_calibrated but the
    latest (each with projection_calibration_months transitions landed before it, at most
    projection_backtest_months of them: bounded, so a monthly build stays flat), each
    later landed month's current-trend projection beside the published figures.
    Calibrated on the as-of month and the months before it only. Scored against the naive
    forecasts by analyses/projection_backtest_scores.sql.
-#}

with

paths as (

    select * from {{ ref('int_projection_paths') }}
    where is_backtest and months_ahead > 0

),

calibrated as (

    select * from {{ ref('int_projection_calibrated') }}
    where not is_latest

),

actuals as (

    -- the published lists, from the capacity mart (a table holding every series x month)
    select * from {{ ref('fct_waiting_list_capacity') }}

),

scored as (

    select
        paths.*,
        calibrated.sigma,
        actuals.total_waiting as actual_total_waiting,
        actuals.wait_52_plus_weeks as actual_wait_52_plus_weeks,
        not actuals.is_flagged_month as is_actual_usable_for_flows
    from paths
    inner join calibrated
        on
            paths.as_of_period = calibrated.as_of_period
            and paths.series_id = calibrated.series_id
    inner join actuals
        on
            paths.period = actuals.period
            and paths.org_level = actuals.org_level
            and coalesce(paths.org_code, '') = coalesce(actuals.org_code, '')
            and paths.service_category = actuals.service_category
            and paths.service_key = actuals.service_key

),

final as (

    select
        as_of_period,
        period,
        cast(months_ahead as integer) as months_ahead,
        org_level,
        org_code,
        service_category,
        service_key,
        total_waiting as projected_total_waiting,
        cast(actual_total_waiting as double precision) as actual_total_waiting,
        c52 as projected_wait_52_plus_weeks,
        cast(actual_wait_52_plus_weeks as double precision) as actual_wait_52_plus_weeks,
        {{ projection_interval_bound('total_waiting', 'sigma', 'months_ahead', '-') }} as total_waiting_lower,
        {{ projection_interval_bound('total_waiting', 'sigma', 'months_ahead', '+') }} as total_waiting_upper,
        is_actual_usable_for_flows
    from scored

)

select * from final
