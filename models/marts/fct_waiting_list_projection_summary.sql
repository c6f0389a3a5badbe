{#-
    One row per series x scenario of fct_waiting_list_projection: when the 52+ week
    backlog clears (first month projected under half a patient), whether and when each
    standard is met (the first month at or over its share, and at its target month),
    the list at the target month, and the least extra weekly capacity meeting each
    standard on the projection (int_projection_standard_capacity) beside the capacity
    mart's NHS-R relief-capacity estimate for the same month and series.
-#}
{{ config(pre_hook="{{ projection_planner_settings() }}") }}
{%- set standards = capacity_standards() %}

with

projection as (

    select * from {{ ref('fct_waiting_list_projection') }}

),

calibrated as (

    select * from {{ ref('int_projection_calibrated') }}
    where is_latest

),

standard_capacity as (

    select * from {{ ref('int_projection_standard_capacity') }}

),

-- the capacity mart's estimates for the as-of month
capacity as (

    select
        *,
        {{ projection_series_id() }} as series_id
    from {{ ref('fct_waiting_list_capacity') }}
    where period = (select max(latest.as_of_period) as latest_period from calibrated as latest)

),

summarised as (

    select
        as_of_period,
        {{ projection_series_id() }} as series_id,
        org_level,
        org_code,
        service_category,
        service_key,
        scenario,
        max(extra_weekly_capacity) as extra_weekly_capacity,
        min(case when wait_52_plus_weeks < 0.5 then period end) as period_52_plus_weeks_cleared,
        min(case when wait_52_plus_weeks < 0.5 then months_ahead end) as months_to_clear_52_plus_weeks,
        {%- for standard in standards %}
            {%- set pct = 'pct_within_' ~ standard.weeks ~ '_weeks' %}
            {%- set target_period = "cast('" ~ standard.target_date[:8] ~ "01' as date)" %}
            min(case when coalesce({{ pct }} >= 100 * {{ standard.share }}, true) then period end)
                as first_period_meeting_{{ standard.name }},
            max(case when period = {{ target_period }} then total_waiting end)
                as total_waiting_at_target_{{ standard.name }},
            max(case when period = {{ target_period }} then {{ pct }} end)
                as {{ pct }}_at_target_{{ standard.name }},
            max(case when period = {{ target_period }} then wait_52_plus_weeks end)
                as wait_52_plus_weeks_at_target_{{ standard.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from projection
    group by as_of_period, org_level, org_code, service_category, service_key, scenario

),

final as (

    select
        summarised.as_of_period,
        summarised.org_level,
        summarised.org_code,
        calibrated.org_name,
        calibrated.trust_code,
        summarised.service_category,
        summarised.service_key,
        calibrated.service_label,
        summarised.scenario,
        summarised.extra_weekly_capacity,
        ---------- the list at the as-of month
        cast(calibrated.total_waiting as double precision) as total_waiting_as_of,
        cast(calibrated.wait_52_plus_weeks as double precision) as wait_52_plus_weeks_as_of,
        ---------- the 52+ week backlog
        summarised.period_52_plus_weeks_cleared,
        cast(summarised.months_to_clear_52_plus_weeks as integer) as months_to_clear_52_plus_weeks,
        {%- for standard in standards %}
            ---------- the {{ standard.name | replace('_', ' ') }} standard
            summarised.first_period_meeting_{{ standard.name }},
            {{ "cast('" ~ standard.target_date[:8] ~ "01' as date)" }} as target_period_{{ standard.name }},
            coalesce(
                summarised.pct_within_{{ standard.weeks }}_weeks_at_target_{{ standard.name }}
                >= 100 * {{ standard.share }},
                summarised.total_waiting_at_target_{{ standard.name }} is not null
            ) as meets_{{ standard.name }}_at_target,
            summarised.total_waiting_at_target_{{ standard.name }},
            summarised.pct_within_{{ standard.weeks }}_weeks_at_target_{{ standard.name }},
            summarised.wait_52_plus_weeks_at_target_{{ standard.name }},
            capacity_{{ standard.name }}.extra_weekly_capacity as projected_extra_weekly_capacity_{{ standard.name }},
            capacity.extra_weekly_capacity_{{ standard.name }} as nhsr_extra_weekly_capacity_{{ standard.name }},
        {%- endfor %}
        calibrated.calibration_transitions
    from summarised
    inner join calibrated
        on
            summarised.as_of_period = calibrated.as_of_period
            and summarised.series_id = calibrated.series_id
    {%- for standard in standards %}
        left join standard_capacity as capacity_{{ standard.name }}
            on
                summarised.series_id = capacity_{{ standard.name }}.series_id
                and capacity_{{ standard.name }}.standard = '{{ standard.name }}'
    {%- endfor %}
    left join capacity
        on summarised.series_id = capacity.series_id

)

select * from final
