-- How good is the waiting-list projection? Its backtest (fct_waiting_list_projection_backtest)
-- scored against two naive forecasts made at the same as-of month: the as-of value carried
-- forward, and a straight line (least squares) through the as-of month and the 5 months
-- before it. Mean absolute percentage error (MAPE, %) by horizon for England's adult and CYP
-- lists (the National rows of every service added up; total and 52+ weeks), the median
-- absolute percentage error over Provider x service lists with 20 or more waiting over 52
-- weeks at the as-of month (52+ weeks), and the share of Provider x service totals inside
-- the 80% interval. One row per as-of month x measure x horizon (0 = mean over horizons
-- 1 .. 6); docs/projection.md shows the as-of January 2025 rows.
with

backtest as (

    select * from {{ ref('fct_waiting_list_projection_backtest') }}
    where months_ahead <= 6

),

history as (

    select
        period,
        org_level,
        org_code,
        service_category,
        service_key,
        cast(total_waiting as double precision) as total_waiting,
        cast(wait_52_plus_weeks as double precision) as wait_52_plus_weeks
    from {{ ref('fct_waiting_list_capacity') }}

),

-- the naive forecasts' inputs at each as-of month: the value, and the least-squares line
-- through the as-of month and the 5 before (x = months from the as-of month)
naive_lines as (

    select
        as_of.period as as_of_period,
        as_of.org_level,
        as_of.org_code,
        as_of.service_category,
        as_of.service_key,
        max(case when history.period = as_of.period then history.total_waiting end) as as_of_total,
        max(case when history.period = as_of.period then history.wait_52_plus_weeks end) as as_of_52_plus,
        regr_slope(history.total_waiting, {{ month_index('history.period') }} - {{ month_index('as_of.period') }})
            as slope_total,
        regr_intercept(history.total_waiting, {{ month_index('history.period') }} - {{ month_index('as_of.period') }})
            as intercept_total,
        regr_slope(history.wait_52_plus_weeks, {{ month_index('history.period') }} - {{ month_index('as_of.period') }})
            as slope_52_plus,
        regr_intercept(
            history.wait_52_plus_weeks, {{ month_index('history.period') }} - {{ month_index('as_of.period') }}
        ) as intercept_52_plus
    from history as as_of
    inner join history
        on
            as_of.org_level = history.org_level
            and coalesce(as_of.org_code, '') = coalesce(history.org_code, '')
            and as_of.service_category = history.service_category
            and as_of.service_key = history.service_key
            and {{ month_index('history.period') }} between {{ month_index('as_of.period') }} - 5
            and {{ month_index('as_of.period') }}
    where as_of.period in (select distinct backtest.as_of_period from backtest)
    group by as_of.period, as_of.org_level, as_of.org_code, as_of.service_category, as_of.service_key

),

forecasts as (

    select
        backtest.*,
        naive_lines.as_of_total as carried_total,
        naive_lines.as_of_52_plus as carried_52_plus,
        naive_lines.intercept_total + naive_lines.slope_total * backtest.months_ahead as line_total,
        naive_lines.intercept_52_plus + naive_lines.slope_52_plus * backtest.months_ahead as line_52_plus
    from backtest
    inner join naive_lines
        on
            backtest.as_of_period = naive_lines.as_of_period
            and backtest.org_level = naive_lines.org_level
            and coalesce(backtest.org_code, '') = coalesce(naive_lines.org_code, '')
            and backtest.service_category = naive_lines.service_category
            and backtest.service_key = naive_lines.service_key

),

england as (

    select
        as_of_period,
        months_ahead,
        service_category,
        sum(actual_total_waiting) as actual_total,
        sum(projected_total_waiting) as model_total,
        sum(carried_total) as carried_total,
        sum(line_total) as line_total,
        sum(actual_wait_52_plus_weeks) as actual_52_plus,
        sum(projected_wait_52_plus_weeks) as model_52_plus,
        sum(carried_52_plus) as carried_52_plus,
        sum(line_52_plus) as line_52_plus
    from forecasts
    where org_level = 'National'
    group by as_of_period, months_ahead, service_category

),

england_errors as (

    {%- for measure in ['total', '52_plus'] %}
        select
            as_of_period,
            months_ahead,
            'england_' || service_category || '_{{ measure }}' as measure,
            100 * abs(model_{{ measure }} - actual_{{ measure }}) / actual_{{ measure }} as model_error,
            100 * abs(carried_{{ measure }} - actual_{{ measure }}) / actual_{{ measure }} as carried_error,
            100 * abs(line_{{ measure }} - actual_{{ measure }}) / actual_{{ measure }} as line_error
        from england
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

provider_lists as (

    select forecasts.*
    from forecasts
    where
        forecasts.org_level = 'Provider'
        and forecasts.carried_52_plus >= 20
        and forecasts.actual_wait_52_plus_weeks > 0

),

provider_errors as (

    select
        as_of_period,
        months_ahead,
        'provider_median_52_plus' as measure,
        {{ median('100 * abs(projected_wait_52_plus_weeks - actual_wait_52_plus_weeks) / actual_wait_52_plus_weeks') }}
            as model_error,
        {{ median('100 * abs(carried_52_plus - actual_wait_52_plus_weeks) / actual_wait_52_plus_weeks') }}
            as carried_error,
        {{ median('100 * abs(line_52_plus - actual_wait_52_plus_weeks) / actual_wait_52_plus_weeks') }}
            as line_error
    from provider_lists
    group by as_of_period, months_ahead

),

coverage as (

    select
        as_of_period,
        months_ahead,
        'provider_interval_coverage' as measure,
        100.0 * avg(
            case when actual_total_waiting between total_waiting_lower and total_waiting_upper then 1 else 0 end
        ) as model_error,
        cast(null as double precision) as carried_error,
        cast(null as double precision) as line_error
    from forecasts
    where org_level = 'Provider'
    group by as_of_period, months_ahead

),

by_horizon as (

    select * from england_errors
    union all
    select * from provider_errors
    union all
    select * from coverage

),

final as (

    select
        as_of_period,
        measure,
        months_ahead,
        model_error,
        carried_error,
        line_error
    from by_horizon
    union all
    -- 0: the mean over horizons 1 .. 6 (MAPE; for the provider median, the mean of the medians)
    select
        as_of_period,
        measure,
        0 as months_ahead,
        avg(model_error) as model_error,
        avg(carried_error) as carried_error,
        avg(line_error) as line_error
    from by_horizon
    group by as_of_period, measure

)

select * from final
order by as_of_period, measure, months_ahead
