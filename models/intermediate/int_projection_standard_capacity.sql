{#-
    The least extra weekly capacity, from the month after the latest landed month, with
    which the projection (macros/projection.sql, projection_step) meets each waiting-time
    standard by its target date: 92% within 18 weeks by standard_18_weeks_target_date and
    99% within 52 weeks by standard_52_weeks_target_date (the vars of
    fct_waiting_list_capacity). One row per latest series x standard.

    Found by searching on the projection itself, in three rounds of 8 candidates (each a
    recursive projection to the target month, macros/projection.sql
    projection_search_round), between 0 and an upper bound U that surely meets it (the
    list and the joiners until the target all removed: list / (months x 52/12) + demand):
      round 0: 0 (meeting: the series needs no extra capacity, and no more rounds);
      round 1: U / 4^i, i = 0 .. 7;
      round 2: lo x 4^(j/8), j = 1 .. 8 between round 1's largest failing (lo) and
               smallest meeting (hi) candidates (a linear grid when lo is 0);
      round 3: lo + (hi - lo) j / 8, j = 1 .. 8 between round 2's.
    The capacity found is round 3's smallest meeting candidate: more capacity never
    meets less (the longest waiters go first), and round 3's step is under 2.5% of it, so
    95% of it fails (the check columns verify both on the projection).
-#}
{#- planner statistics for the models reading it (PostgreSQL; macros/sql_helpers.sql) -#}
{{ config(
    materialized='table',
    pre_hook="{{ projection_planner_settings() }}",
    post_hook="{{ refresh_statistics(this, ['series_id', 'standard']) }}",
) }}

{%- set horizon = var('projection_horizon_months') | int %}
{%- set width = projection_cohort_weeks() %}
{%- set standards = capacity_standards() %}
{#- candidates a round: the last round's step is then under (4^(1/8) - 1) / 8 = 2.4% of the
    capacity found, so 95% of it is below a failing candidate; round 1 reaches down to
    U / 4^7 (with 6 a round, 45 series instead of 11 had capacities too small for the check) -#}
{%- set candidates = 8 %}

with recursive

calibrated as (

    select * from {{ ref('int_projection_calibrated') }}
    where is_latest and calibration_transitions > 0

),

standards as (

    {%- for standard in standards %}
        select
            '{{ standard.name }}' as standard,
            {{ standard.weeks }} as standard_weeks,
            {{ standard.share }} as standard_share,
            cast('{{ standard.target_date }}' as date) as target_date,
            {{ month_index("cast('" ~ standard.target_date ~ "' as date)") }} as target_month_index
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

searched as {{ materialized_cte() }} (

    select
        calibrated.*,
        standards.standard,
        standards.standard_weeks,
        standards.standard_share,
        standards.target_date,
        standards.target_month_index - calibrated.as_of_month_index as target_months_ahead,
        cast(calibrated.total_waiting as double precision)
        / ((standards.target_month_index - calibrated.as_of_month_index) * {{ width }})
        + calibrated.weekly_demand + 1 as upper_bound
    from calibrated
    cross join standards
    where standards.target_month_index - calibrated.as_of_month_index between 1 and {{ horizon }}

),

-- round 0: the current trend (no extra capacity)
round_0_candidates as (

    select
        searched.*,
        0 as candidate,
        cast(0 as double precision) as extra
    from searched

),

{{ projection_search_round('round_0', 'round_0_candidates') }}

round_1_candidates as (

    select
        searched.*,
        grid.candidate,
        searched.upper_bound / power(4, grid.candidate) as extra
    from searched
    inner join round_0
        on searched.series_id = round_0.series_id and searched.standard = round_0.standard
    cross join {{ projection_candidate_grid(0, candidates - 1) }}
    where not round_0.meets_standard

),

{{ projection_search_round('round_1', 'round_1_candidates') }}

round_1_bracket as (

    select
        series_id,
        standard,
        min(case when meets_standard then extra end) as high,
        coalesce(max(case when not meets_standard then extra end), 0) as low
    from round_1
    group by series_id, standard

),

round_2_candidates as (

    select
        searched.*,
        grid.candidate,
        case
            when round_1_bracket.low > 0 then round_1_bracket.low * power(4, grid.candidate / {{ candidates }}.0)
            else round_1_bracket.high * grid.candidate / {{ candidates }}.0
        end as extra
    from searched
    inner join round_1_bracket
        on searched.series_id = round_1_bracket.series_id and searched.standard = round_1_bracket.standard
    cross join {{ projection_candidate_grid(1, candidates) }}

),

{{ projection_search_round('round_2', 'round_2_candidates') }}

round_2_bracket as (

    select
        round_2.series_id,
        round_2.standard,
        min(case when round_2.meets_standard then round_2.extra end) as high,
        coalesce(max(case when not round_2.meets_standard then round_2.extra end), max(round_1_bracket.low)) as low
    from round_2
    inner join round_1_bracket
        on round_2.series_id = round_1_bracket.series_id and round_2.standard = round_1_bracket.standard
    group by round_2.series_id, round_2.standard

),

round_3_candidates as (

    select
        searched.*,
        grid.candidate,
        round_2_bracket.low
        + (round_2_bracket.high - round_2_bracket.low) * grid.candidate / {{ candidates }}.0 as extra
    from searched
    inner join round_2_bracket
        on searched.series_id = round_2_bracket.series_id and searched.standard = round_2_bracket.standard
    cross join {{ projection_candidate_grid(1, candidates) }}

),

{{ projection_search_round('round_3', 'round_3_candidates') }}

round_3_found as (

    select
        series_id,
        standard,
        min(extra) as extra
    from round_3
    where meets_standard
    group by series_id, standard

),

found as (

    select
        searched.series_id,
        searched.standard,
        case when round_0.meets_standard then 0 else round_3_found.extra end as extra_weekly_capacity
    from searched
    inner join round_0
        on searched.series_id = round_0.series_id and searched.standard = round_0.standard
    left join round_3_found
        on searched.series_id = round_3_found.series_id and searched.standard = round_3_found.standard

),

-- the check: the capacity found meets the standard and 95% of it does not
check_candidates as (

    select
        searched.*,
        grid.candidate,
        found.extra_weekly_capacity * (case when grid.candidate = 1 then 1 else 0.95 end) as extra
    from searched
    inner join found
        on searched.series_id = found.series_id and searched.standard = found.standard
    cross join (values (1), (2)) as grid (candidate)
    where found.extra_weekly_capacity > 0

),

{{ projection_search_round('checked', 'check_candidates') }}

final as (

    select
        searched.as_of_period,
        searched.series_id,
        searched.org_level,
        searched.org_code,
        searched.service_category,
        searched.service_key,
        searched.standard,
        searched.standard_share,
        searched.target_date,
        cast(searched.target_months_ahead as integer) as target_months_ahead,
        searched.upper_bound,
        found.extra_weekly_capacity,
        found.extra_weekly_capacity = 0 as meets_without_extra_capacity,
        coalesce(at_found.meets_standard, true) as meets_at_capacity_found,
        at_95_pct.meets_standard as meets_at_95_pct_of_capacity_found
    from searched
    inner join found
        on searched.series_id = found.series_id and searched.standard = found.standard
    left join checked as at_found
        on searched.series_id = at_found.series_id and searched.standard = at_found.standard and at_found.candidate = 1
    left join checked as at_95_pct
        on searched.series_id = at_95_pct.series_id
            and searched.standard = at_95_pct.standard
            and at_95_pct.candidate = 2

)

select * from final
