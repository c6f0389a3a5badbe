{#-
    The projection's apply step (NHSRtt's apply_params_to_projections): one row per path x
    month ahead (0 = the as-of month's state), a path being an as-of month x series x
    scenario. The latest landed month is projected projection_horizon_months ahead under
    every scenario of seeds/projection_scenarios.csv that changes it and with the least
    extra weekly capacity meeting each standard where it needs some
    (int_projection_standard_capacity: scenarios meets_18_week_standard,
    meets_52_week_standard); a series a scenario leaves unchanged has only its current_trend
    rows (its projection under that scenario). Each earlier as-of month of
    int_projection_calibrated (the backtest's) under the current trend up to the latest
    landed month. A recursive CTE over months ahead, the cohorts as columns: each month is
    the month before stepped by projection_step (macros/projection.sql) with the path's
    calibrated demand and rates and the scenario's changes from their first month.
    Series without a usable transition in their calibration window are not projected.
-#}
{#- planner statistics for the models reading it (PostgreSQL; macros/sql_helpers.sql) -#}
{{ config(
    materialized='table',
    post_hook="{{ refresh_statistics(this, ['series_id', 'as_of_period', 'is_backtest']) }}",
) }}

{%- set horizon = var('projection_horizon_months') | int %}
{%- set series_key = ['org_level', 'org_code', 'service_category', 'service_key'] %}
{%- set next_month = 'paths.month_index + 1' %}
{%- set rates = {} %}
{%- for group in ['new', 'young', 'mid', 'old'] %}
    {%- do rates.update({group: projection_scaled_rate(
        'paths.leaving_rate_' ~ group,
        '(case when ' ~ next_month ~ ' >= paths.removals_from_index then paths.removals_factor else 1 end)',
    )}) %}
{%- endfor %}
{%- set demand = '(paths.weekly_demand * (case when ' ~ next_month
    ~ ' >= paths.demand_from_index then paths.demand_factor else 1 end))' %}
{%- set extra = '(case when ' ~ next_month
    ~ ' >= paths.extra_from_index then paths.extra_weekly_capacity else 0 end)' %}
{%- set next_period = 'cast(' ~ dbt.dateadd('month', 1, 'paths.period') ~ ' as date)' %}

with recursive

calibrated as (

    select * from {{ ref('int_projection_calibrated') }}
    where calibration_transitions > 0

),

standard_capacity as (

    select * from {{ ref('int_projection_standard_capacity') }}
    where extra_weekly_capacity is not null

),

scenario_rows as (

    select * from {{ ref('projection_scenarios') }}

),

latest as (

    select * from calibrated
    where is_latest

),

scenarios as (

    select distinct scenario from scenario_rows

),

-- each change of a scenario that applies to a latest series: the most specific row
scenario_changes as (

    select
        latest.series_id,
        scenario_rows.scenario,
        scenario_rows.change,
        scenario_rows.change_value,
        coalesce(
            {{ month_index('scenario_rows.from_period') }}, latest.as_of_month_index + 1
        ) as from_month_index,
        row_number() over (
            partition by latest.series_id, scenario_rows.scenario, scenario_rows.change
            order by
                (case when scenario_rows.org_code is not null then 8 else 0 end)
                + (case when scenario_rows.org_level is not null then 4 else 0 end)
                + (case when scenario_rows.service_key is not null then 2 else 0 end)
                + (case when scenario_rows.service_category is not null then 1 else 0 end) desc
        ) as specificity_rank
    from latest
    inner join scenario_rows
        on
            scenario_rows.change != 'none'
            and (scenario_rows.org_level is null or latest.org_level = scenario_rows.org_level)
            and (scenario_rows.org_code is null or latest.org_code = scenario_rows.org_code)
            and (scenario_rows.service_category is null or latest.service_category = scenario_rows.service_category)
            and (scenario_rows.service_key is null or latest.service_key = scenario_rows.service_key)

),

scenario_settings as (

    select
        series_id,
        scenario,
        {%- for change, default in [('extra_weekly_capacity', 0), ('removals_pct', 0), ('demand_pct', 0)] %}
            max(case when change = '{{ change }}' then change_value end) as {{ change }},
            max(case when change = '{{ change }}' then from_month_index end) as {{ change }}_from_index,
        {%- endfor %}
        count(*) as changes
    from scenario_changes
    where specificity_rank = 1
    group by series_id, scenario

),

path_starts as (

    -- the latest month on the current trend, and under every scenario that changes it
    select
        latest.*,
        scenarios.scenario,
        false as is_backtest,
        {{ horizon }} as horizon_months,
        coalesce(scenario_settings.extra_weekly_capacity, 0) as extra_weekly_capacity,
        coalesce(scenario_settings.extra_weekly_capacity_from_index, 0) as extra_from_index,
        1 + coalesce(scenario_settings.removals_pct, 0) / 100 as removals_factor,
        coalesce(scenario_settings.removals_pct_from_index, 0) as removals_from_index,
        1 + coalesce(scenario_settings.demand_pct, 0) / 100 as demand_factor,
        coalesce(scenario_settings.demand_pct_from_index, 0) as demand_from_index
    from latest
    cross join scenarios
    left join scenario_settings
        on
            latest.series_id = scenario_settings.series_id
            and scenarios.scenario = scenario_settings.scenario
    where scenarios.scenario = 'current_trend' or scenario_settings.scenario is not null

    union all

    -- the latest month with the least extra weekly capacity that meets each standard
    select
        latest.*,
        'meets_' || replace(standard_capacity.standard, '_weeks', '_week') || '_standard' as scenario,
        false as is_backtest,
        {{ horizon }} as horizon_months,
        standard_capacity.extra_weekly_capacity,
        latest.as_of_month_index + 1 as extra_from_index,
        1 as removals_factor,
        0 as removals_from_index,
        1 as demand_factor,
        0 as demand_from_index
    from latest
    inner join standard_capacity
        on
            latest.series_id = standard_capacity.series_id
            and standard_capacity.extra_weekly_capacity > 0

    union all

    -- every earlier as-of month on the current trend, up to the latest landed month
    select
        calibrated.*,
        'current_trend' as scenario,
        true as is_backtest,
        least(
            {{ horizon }},
            (select max(all_as_of.as_of_month_index) as latest_index from calibrated as all_as_of)
            - calibrated.as_of_month_index
        ) as horizon_months,
        0 as extra_weekly_capacity,
        0 as extra_from_index,
        1 as removals_factor,
        0 as removals_from_index,
        1 as demand_factor,
        0 as demand_from_index
    from calibrated
    where not calibrated.is_latest

),

paths as (

    select
        as_of_period,
        series_id,
        {%- for column in series_key %}
            {{ column }},
        {%- endfor %}
        cast(scenario as text) as scenario,
        is_backtest,
        cast(horizon_months as integer) as horizon_months,
        cast(weekly_demand as double precision) as weekly_demand,
        {%- for group in ['new', 'young', 'mid', 'old'] %}
            cast(leaving_rate_{{ group }} as double precision) as leaving_rate_{{ group }},
        {%- endfor %}
        cast(extra_weekly_capacity as double precision) as extra_weekly_capacity,
        cast(extra_from_index as integer) as extra_from_index,
        cast(removals_factor as double precision) as removals_factor,
        cast(removals_from_index as integer) as removals_from_index,
        cast(demand_factor as double precision) as demand_factor,
        cast(demand_from_index as integer) as demand_from_index,
        0 as months_ahead,
        cast(as_of_month_index as integer) as month_index,
        cast(as_of_period as date) as period,
        {%- for k in range(12) %}
            cast(c{{ k }} as double precision) as c{{ k }},
        {%- endfor %}
        cast(c52 as double precision) as c52
    from path_starts

    union all

    select
        paths.as_of_period,
        paths.series_id,
        {%- for column in series_key %}
            paths.{{ column }},
        {%- endfor %}
        paths.scenario,
        paths.is_backtest,
        paths.horizon_months,
        paths.weekly_demand,
        {%- for group in ['new', 'young', 'mid', 'old'] %}
            paths.leaving_rate_{{ group }},
        {%- endfor %}
        paths.extra_weekly_capacity,
        paths.extra_from_index,
        paths.removals_factor,
        paths.removals_from_index,
        paths.demand_factor,
        paths.demand_from_index,
        paths.months_ahead + 1 as months_ahead,
        paths.month_index + 1 as month_index,
        {{ next_period }} as period,
        {%- for cohort in projection_step('paths.', demand, projection_cohort_weeks(), rates, extra) %}
            {{ cohort }} as {% if loop.last %}c52
        {% else %}c{{ loop.index0 }}{% endif %}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from paths
    where paths.months_ahead < paths.horizon_months

),

final as (

    select
        as_of_period,
        series_id,
        {%- for column in series_key %}
            {{ column }},
        {%- endfor %}
        scenario,
        is_backtest,
        months_ahead,
        period,
        weekly_demand,
        extra_weekly_capacity,
        {{ projection_state_columns() }},
        {{ projection_total() }} as total_waiting,
        {{ projection_pct_within_18_weeks() }} as pct_within_18_weeks,
        {{ projection_pct_within_52_weeks() }} as pct_within_52_weeks
    from paths

)

select * from final
