{#-
    The projection's calibration (NHSRtt's calibrate step): one row per as-of month x
    waiting-list series (int_waiting_list_series_unioned), for the latest landed month and
    the earlier months the backtest projects from (projection_backtest_months of them,
    each with projection_calibration_months months landed before it). Each row holds the
    parameters (weekly demand, four monthly rates of leaving, the interval's sigma) and
    the initial state: the as-of month's bands spread over month-wide cohorts c0 .. c11
    and c52. Everything is computed from the as-of month and the months before it only,
    so a backtest projection never sees the months it is scored on.

    Method (macros/projection.sql; the equations are in _int__models.yml):
      1. joiners of each of the 12 months before (the 0-1 week band, weekly), the nearest
         later landed usable month's where a month is missing or flagged;
      2. pass 1: each month's bands spread over cohorts in proportion to overlap x joiners;
         rates of leaving from consecutive usable months (ratio of sums over the window);
      3. pass 2: the bands spread again, weights joiners x survival under pass 1's rates
         (the month's own window), and the rates estimated again: the parameters;
      4. sigma: the root mean square relative error of the one-month-ahead list predicted
         with those parameters over the window's transitions.
-#}
{#- planner statistics for the models reading it (PostgreSQL; macros/sql_helpers.sql) -#}
{{ config(
    materialized='table',
    post_hook="{{ refresh_statistics(this, ['series_id', 'as_of_period', 'is_latest']) }}",
) }}

{%- set calibration_months = var('projection_calibration_months') | int %}
{%- set backtest_months = var('projection_backtest_months') | int %}
{%- set cohort_columns = range(12) | list %}
{#- window partitions: one series -#}
{%- set series_key = ['series_id'] %}

with

series_months as (

    select * from {{ ref('int_waiting_list_series_unioned') }}

),

month_bounds as (

    select
        min({{ month_index('period') }}) as first_month_index,
        max({{ month_index('period') }}) as latest_month_index
    from series_months

),

-- the months read: the as-of months and the calibration window before the earliest
months_read as (

    select
        series_months.*,
        {{ projection_series_id('series_months.') }} as series_id,
        {{ month_index('series_months.period') }} as month_index,
        cast({{ band_sum(wait_bands_in_weeks(false)) }} as double precision) as band_total,
        month_bounds.first_month_index,
        month_bounds.latest_month_index
    from series_months
    cross join month_bounds
    where
        {{ month_index('series_months.period') }}
        >= month_bounds.latest_month_index - {{ backtest_months + calibration_months + 11 }}

),

joiner_lags as (

    select
        *,
        {%- for k in range(1, 12) %}
            case
                when
                    lag(month_index, {{ k }}) over series_order = month_index - {{ k }}
                    and lag(is_usable_for_flows, {{ k }}) over series_order
                    then cast(lag(wait_0_1_weeks, {{ k }}) over series_order as double precision)
            end as joiners_lag_{{ k }},
        {%- endfor %}
        cast(coalesce(wait_0_1_weeks, 0) as double precision) as joiners_lag_0
    from months_read
    window series_order as (partition by {{ series_key | join(', ') }} order by month_index)

),

joiners as {{ materialized_cte() }} (

    select
        *,
        {%- for k in range(12) %}
            coalesce(
                {%- for i in range(k, -1, -1) %}
                    joiners_lag_{{ i }},
                {%- endfor %}
                0
            ) as joiners_{{ k }},
        {%- endfor %}
        case when band_total > 0 then total_waiting / band_total else 0 end as band_scale
    from joiner_lags

),

-- pass 1: cohorts weighted by joiners alone
pass_1_cohorts as {{ materialized_cte() }} (

    select
        *,
        {%- for cohort in projection_cohort_allocation(projection_profile_weights('joiners_')) %}
            band_scale * {{ cohort }} as p1_c{{ loop.index0 }},
        {%- endfor %}
        band_scale * coalesce(wait_52_plus_weeks, 0) as p1_c52
    from joiners

),

{{ projection_window_rates('pass_1_cohorts', 'p1_', 'pass_1_rates', calibration_months, series_key) }}

-- pass 2: cohorts weighted by joiners x survival under the month's pass 1 rates
pass_2_cohorts as {{ materialized_cte() }} (

    select
        *,
        {%- for cohort in projection_cohort_allocation(projection_profile_weights(
            'joiners_', 'p1_rate_young', 'p1_rate_mid'
        )) %}
            band_scale * {{ cohort }} as c{{ loop.index0 }},
        {%- endfor %}
        band_scale * coalesce(wait_52_plus_weeks, 0) as c52
    from pass_1_rates

),

{{ projection_window_rates('pass_2_cohorts', '', 'pass_2_rates', calibration_months, series_key) }}

as_of_rows as {{ materialized_cte() }} (

    select * from pass_2_rates
    where
        month_index >= first_month_index + {{ calibration_months }}
        and month_index >= latest_month_index - {{ backtest_months }}

),

-- the rates of each service's National series: the parents the other levels shrink to
national_rates as (

    select
        month_index,
        service_category,
        service_key,
        {%- for group in ['new', 'young', 'mid'] %}
            coalesce(rate_{{ group }}, rate_all) as parent_rate_{{ group }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from as_of_rows
    where org_level = 'National'

),

with_parent_rates as (

    select
        as_of_rows.*,
        {%- for group in ['new', 'young', 'mid'] %}
            coalesce(
                {{ projection_shrunk_rate(
                    'as_of_rows.still_waiting_' ~ group, 'as_of_rows.waiting_before_' ~ group,
                    'national_rates.parent_rate_' ~ group, var('projection_rate_prior_patients'),
                ) }},
                as_of_rows.rate_all,
                0
            ) as leaving_rate_{{ group }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from as_of_rows
    left join national_rates
        on
            as_of_rows.month_index = national_rates.month_index
            and as_of_rows.service_category = national_rates.service_category
            and as_of_rows.service_key = national_rates.service_key

),

-- the old group's rate, shrunk towards the rate holding the 52+ list level
as_of_months as (

    select
        *,
        coalesce(
            {{ projection_shrunk_rate(
                'still_waiting_old', 'waiting_before_old', projection_balancing_rate('c52', 'c11'),
                var('projection_52_balance_prior_patients'),
            ) }},
            rate_all,
            0
        ) as leaving_rate_old
    from with_parent_rates

),

-- the one-month-ahead predictions of the calibrated model over the window's transitions
window_predictions as (

    select
        as_of_months.series_id,
        as_of_months.month_index,
        transitions.total_waiting,
        {{ projection_one_month_total(
            'as_of_months.weekly_demand', projection_cohort_weeks(),
            'transitions.before_young', 'transitions.before_mid', 'transitions.before_old',
            'as_of_months.leaving_rate_new', 'as_of_months.leaving_rate_young',
            'as_of_months.leaving_rate_mid', 'as_of_months.leaving_rate_old',
        ) }} as predicted_total
    from as_of_months
    inner join pass_2_rates as transitions
        on
            as_of_months.series_id = transitions.series_id
            and as_of_months.month_index - {{ calibration_months }} < transitions.month_index
            and as_of_months.month_index >= transitions.month_index
            and transitions.is_calibrating_transition

),

window_errors as (

    select
        series_id,
        month_index,
        count(*) as error_months,
        sum(power((total_waiting - predicted_total) / predicted_total, 2)) as squared_relative_errors
    from window_predictions
    where predicted_total > 0
    group by series_id, month_index

),

calibrated as (

    select
        as_of_months.*,
        coalesce(sqrt(window_errors.squared_relative_errors / window_errors.error_months), 0) as sigma,
        coalesce(window_errors.error_months, 0) as error_months
    from as_of_months
    left join window_errors
        on
            as_of_months.series_id = window_errors.series_id
            and as_of_months.month_index = window_errors.month_index

),

final as (

    select
        period as as_of_period,
        month_index as as_of_month_index,
        month_index = latest_month_index as is_latest,
        cast(series_id as text) as series_id,
        cast(org_level as text) as org_level,
        cast(org_code as text) as org_code,
        cast(org_name as text) as org_name,
        cast(trust_code as text) as trust_code,
        cast(service_category as text) as service_category,
        cast(service_key as text) as service_key,
        cast(service_label as text) as service_label,
        total_waiting,
        wait_52_plus_weeks,
        not is_usable_for_flows as is_as_of_flagged,
        cast(calibration_transitions as integer) as calibration_transitions,
        weekly_demand,
        leaving_rate_new,
        leaving_rate_young,
        leaving_rate_mid,
        leaving_rate_old,
        sigma,
        cast(error_months as integer) as error_months,
        {{ projection_state_columns() }}
    from calibrated

)

select * from final
