{#-
    How much capacity each waiting list needs to meet the waiting-time standards: one row
    per month x organisation (Provider, Trust, ICB, Region, National) x service with a
    published total. Queueing estimates of the NHS-R community's NHSRwaitinglist package
    (queue load, target mean wait, target queue size, relief capacity, waiting-list
    pressure) on the published weeks-waited bands, as NHS England South West's community
    waits analysis applies them; the formulas are the macros in macros/capacity.sql.

    The method, month by month for each series:
      1. weekly demand = 0-1 week band x demand_uplift;
      2. weekly removals = (last month's total + weekly demand x weeks in the month
         - this month's total) / weeks in the month (none without the month before);
         a month flagged as an anomaly (is_usable_for_flows false: the organisation's
         month, is_flagged_month, or the service's, is_flagged_service_month) gives
         neither, and the month after it no removals; a National row's flows leave out
         the Provider service months flagged as steps (their 0-1 week band, and their
         lists that month and the month before: no flow from the step);
      3. both averaged over the latest capacity_history_months calendar months;
      4. from this month's bands: % within 18 weeks, % over 52, mean and 92nd-percentile
         wait (uniform within bands; the open top band at its lower bound);
      5. per standard (share within weeks by a date): target mean wait, target queue size,
         relief capacity to reach it by the date, and the extra weekly capacity above
         current removals; waiting-list pressure.

    Incremental, a bounded window per month (macros/incremental_by_release.sql,
    release_windows_to_process): a month's row reads the capacity_history_months months
    before it, so a new release rebuilds its month from the releases of that window, and a
    revision of month m rebuilds m and the capacity_history_months months after it.
    Changing a seed it reads or one of its vars recomputes every month; after changing
    this SQL or macros/capacity.sql run `dbt build --full-refresh --select
    fct_waiting_list_capacity`.
-#}
{#- indexed on dbt_invocation_id too (PostgreSQL): its tests read the rows this run wrote -#}
{%- set model_config = incremental_by_release_config(
    ['file_sha256', 'period'], unique_key='period', indexed_columns=['dbt_invocation_id']
) %}
{{ config(**model_config) }}
-- depends_on: {{ source('raw_chs', 'load_log') }}

{%- set history_months = var('capacity_history_months') | int %}
{#- the months averaged: the month itself and the history_months - 1 before it -#}
{%- set months_before = [history_months - 1, 0] | max %}
{%- set standards = capacity_standards() %}
{%- set settings_checksum = capacity_settings_checksum() %}
{%- if is_incremental() %}
    {%- set windows = release_windows_to_process(
        history_months,
        processed_with_current_seeds() ~ " and done.settings_checksum = '" ~ settings_checksum ~ "'",
    ) %}
{%- endif %}

with

series as (

    select * from {{ ref('int_waiting_list_series_unioned') }}
    {%- if is_incremental() %}
    where {{ file_sha256_in(windows.releases) }}  -- noqa: LT02
    {%- endif %}

),

monthly as (

    select
        *,
        {{ month_index('period') }} as month_index,
        {{ weeks_in_month('period') }} as weeks_in_month,
        cast({{ band_sum(wait_bands_in_weeks(false)) }} as double precision) as band_total,
        -- a National row leaves out the Provider service months flagged as steps (steps_*)
        case
            when is_usable_for_flows then {{ weekly_demand('wait_0_1_weeks - coalesce(steps_wait_0_1_weeks, 0)') }}
        end as month_weekly_demand
    from series

),

with_month_before as (

    select
        *,
        lag(month_index) over series_months as month_before_index,
        lag(total_waiting) over series_months as month_before_total_waiting,
        lag(wait_52_plus_weeks) over series_months as month_before_wait_52_plus_weeks,
        lag(is_usable_for_flows) over series_months as month_before_is_usable_for_flows
    from monthly
    window series_months as (
        partition by org_level, org_code, service_category, service_key
        order by month_index
    )

),

monthly_flows as (

    select
        *,
        case
            when month_before_index = month_index - 1 and month_before_is_usable_for_flows
                then {{ weekly_removals(
                    '(month_before_total_waiting - coalesce(steps_previous_total_waiting, 0))',
                    'month_weekly_demand',
                    '(total_waiting - coalesce(steps_total_waiting, 0))',
                    'weeks_in_month',
                ) }}
        end as month_weekly_removals,
        case
            when month_before_index = month_index - 1 and month_before_is_usable_for_flows and is_usable_for_flows
                then (month_before_wait_52_plus_weeks - wait_52_plus_weeks) / weeks_in_month
        end as month_weekly_fall_52_plus_weeks
    from with_month_before

),

averaged as (

    select
        *,
        avg(month_weekly_demand) over latest_months as weekly_demand,
        count(month_weekly_demand) over latest_months as demand_months,
        avg(month_weekly_removals) over latest_months as weekly_removals,
        count(month_weekly_removals) over latest_months as removal_months,
        avg(month_weekly_fall_52_plus_weeks) over latest_months as weekly_fall_52_plus_weeks
    from monthly_flows
    window latest_months as (
        partition by org_level, org_code, service_category, service_key
        order by month_index
        range between {{ months_before }} preceding and current row
    )

),

estimated as (

    select
        *,
        {{ pct_waiting_under(18, 'band_total') }} as pct_within_18_weeks,
        {{ pct_waiting_over_52_weeks('band_total') }} as pct_over_52_weeks,
        {{ mean_wait_from_bands('band_total') }} as mean_wait_weeks,
        {{ mean_wait_is_lower_bound() }} as mean_wait_is_lower_bound,
        {{ wait_percentile_from_bands(0.92, 'band_total') }} as p92_wait_weeks,
        {{ percentile_is_lower_bound(0.92, 'band_total') }} as p92_wait_is_lower_bound,
        {{ queue_load('weekly_demand', 'weekly_removals') }} as queue_load,
        {{ weeks_to_clear('wait_52_plus_weeks', 'weekly_fall_52_plus_weeks') }} as weeks_to_clear_52_plus_weeks,
        {%- for standard in standards %}
            {{ target_mean_wait(standard.weeks, standard.share) }} as target_mean_wait_{{ standard.name }},
            {{ weeks_to_date('period', standard.target_date) }} as weeks_to_target_{{ standard.name }},
        {%- endfor %}
        coalesce(band_total != total_waiting, true) as is_bands_not_summing
    from averaged
    {%- if is_incremental() %}
    -- the months to rebuild; the months before them were read for their windows
    where {{ period_in(windows.periods) }}  -- noqa: LT02
    {%- endif %}

),

standards_applied as (

    select
        *,
        {%- for standard in standards %}
            {{ target_queue_size('weekly_demand', 'target_mean_wait_' ~ standard.name) }}
                as target_queue_size_{{ standard.name }},
            case
                when weeks_to_target_{{ standard.name }} > 0
                    then {{ relief_capacity(
                        'weekly_demand',
                        'total_waiting',
                        target_queue_size('weekly_demand', 'target_mean_wait_' ~ standard.name),
                        'weeks_to_target_' ~ standard.name,
                    ) }}
            end as relief_capacity_{{ standard.name }},
            {{ waiting_list_pressure('mean_wait_weeks', standard.weeks) }} as waiting_list_pressure_{{ standard.name }},
            case
                when weeks_to_target_{{ standard.name }} <= 0 then 'target_date_passed'
                when weekly_demand is null then 'no_demand_estimate'
                when weekly_removals is null then 'no_removals_estimate'
                when weekly_removals < 0 then 'negative_removals'
            end as extra_capacity_null_reason_{{ standard.name }},
        {%- endfor %}
        demand_months < {{ history_months }} or removal_months < {{ history_months }} as is_short_history,
        coalesce(weekly_removals < 0, false) as is_removals_negative
    from estimated

),

final as (

    select
        period,
        cast(org_level as text) as org_level,
        cast(org_code as text) as org_code,
        cast(org_name as text) as org_name,
        cast(trust_code as text) as trust_code,
        cast(service_category as text) as service_category,
        cast(service_key as text) as service_key,
        cast(service_label as text) as service_label,
        ---------- the list (patients)
        total_waiting,
        wait_0_1_weeks,
        wait_52_plus_weeks,
        wait_104_plus_weeks,
        {{ round_to('pct_within_18_weeks', 2) }} as pct_within_18_weeks,
        {{ round_to('pct_over_52_weeks', 2) }} as pct_over_52_weeks,
        ---------- waits (weeks)
        {{ round_to('mean_wait_weeks', 2) }} as mean_wait_weeks,
        mean_wait_is_lower_bound,
        {{ round_to('p92_wait_weeks', 2) }} as p92_wait_weeks,
        p92_wait_is_lower_bound,
        ---------- flows (patients per week)
        {{ round_to('weekly_demand', 2) }} as weekly_demand,
        cast(demand_months as integer) as demand_months,
        {{ round_to('weekly_removals', 2) }} as weekly_removals,
        cast(removal_months as integer) as removal_months,
        {{ round_to('queue_load', 3) }} as queue_load,
        {{ round_to('weekly_fall_52_plus_weeks', 2) }} as weekly_fall_52_plus_weeks,
        {{ round_to('weeks_to_clear_52_plus_weeks', 1) }} as weeks_to_clear_52_plus_weeks,
        ---------- standards
        {%- for standard in standards %}
            {{ round_to('target_mean_wait_' ~ standard.name, 2) }} as target_mean_wait_{{ standard.name }},
            {{ round_to('target_queue_size_' ~ standard.name, 2) }} as target_queue_size_{{ standard.name }},
            {{ round_to('weeks_to_target_' ~ standard.name, 2) }} as weeks_to_target_{{ standard.name }},
            {{ round_to('relief_capacity_' ~ standard.name, 2) }} as relief_capacity_{{ standard.name }},
            {{ round_to(
                'case when extra_capacity_null_reason_' ~ standard.name ~ ' is null then '
                ~ extra_weekly_capacity('relief_capacity_' ~ standard.name, 'weekly_removals') ~ ' end',
                2,
            ) }} as extra_weekly_capacity_{{ standard.name }},
            cast(extra_capacity_null_reason_{{ standard.name }} as text)
                as extra_capacity_null_reason_{{ standard.name }},
            {{ round_to('waiting_list_pressure_' ~ standard.name, 3) }} as waiting_list_pressure_{{ standard.name }},
        {%- endfor %}
        ---------- data quality
        is_short_history,
        is_removals_negative,
        is_bands_not_summing,
        is_merged_series,
        coalesce(is_flagged_organisation_month, false) as is_flagged_month,
        coalesce(is_flagged_service_month, false) as is_flagged_service_month,
        ---------- lineage
        cast(file_sha256 as text) as file_sha256,
        cast('{{ seeds_checksum() }}' as text) as seeds_checksum,
        cast('{{ settings_checksum }}' as text) as settings_checksum,
        cast('{{ invocation_id }}' as text) as dbt_invocation_id
    from standards_applied

)

select * from final
