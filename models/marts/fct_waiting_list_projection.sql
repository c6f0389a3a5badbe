{#-
    The waiting-list projection: for the latest landed month (as_of_period) and every
    series of the capacity mart, each month 1 .. projection_horizon_months ahead under
    every scenario (seeds/projection_scenarios.csv, and meets_18_week_standard /
    meets_52_week_standard: the least extra weekly capacity meeting each standard).
    The method (calibration, the month step, the interval) is in _marts__models.yml and
    docs/projection.md; the paths are int_projection_paths.
-#}

with

paths as (

    select * from {{ ref('int_projection_paths') }}
    where not is_backtest and months_ahead > 0

),

calibrated as (

    select * from {{ ref('int_projection_calibrated') }}
    where is_latest

),

projected as (

    select
        paths.*,
        calibrated.org_name,
        calibrated.trust_code,
        calibrated.service_label,
        calibrated.sigma,
        calibrated.calibration_transitions,
        calibrated.is_as_of_flagged
    from paths
    inner join calibrated
        on
            paths.as_of_period = calibrated.as_of_period
            and paths.series_id = calibrated.series_id

),

final as (

    select
        as_of_period,
        period,
        cast(months_ahead as integer) as months_ahead,
        org_level,
        org_code,
        org_name,
        trust_code,
        service_category,
        service_key,
        service_label,
        scenario,
        ---------- the scenario's changes
        extra_weekly_capacity,
        ---------- the projected list (patients)
        total_waiting,
        {{ projection_interval_bound('total_waiting', 'sigma', 'months_ahead', '-') }} as total_waiting_lower,
        {{ projection_interval_bound('total_waiting', 'sigma', 'months_ahead', '+') }} as total_waiting_upper,
        c52 as wait_52_plus_weeks,
        pct_within_18_weeks,
        pct_within_52_weeks,
        ---------- calibration
        weekly_demand,
        sigma as one_month_relative_error,
        calibration_transitions,
        is_as_of_flagged
    from projected

)

select * from final
