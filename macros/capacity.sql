{#-
    Queueing formulas of the capacity estimates (models/marts/fct_waiting_list_capacity.sql),
    one macro per formula, each named after what it computes. Arguments are SQL
    expressions; every quantity is per week (patients per week, weeks) unless named
    otherwise.

    Source: the NHS-R community's NHSRwaitinglist R package (Fong et al. 2022,
    doi:10.1101/2022.08.23.22279117; https://github.com/nhs-r-community/NHSRwaitinglist):
    calc_queue_load, calc_target_mean_wait, calc_target_queue_size, calc_relief_capacity,
    calc_waiting_list_pressure; and its use on the same published bands in NHS England
    South West's community waits analysis (https://github.com/nhsengland/community_waits):
    weekly demand from the 0-1 week band times 1.1, removals from the flow between months.
-#}

{#- Weekly demand (additions to the list per week): the 0-1 week band is the people who
    joined in the last week and are still waiting; the uplift (var demand_uplift, 1.1 as
    in NHS England's analysis) adds those who joined and left within the week. -#}
{% macro weekly_demand(wait_0_1_weeks) -%}
    (cast({{ wait_0_1_weeks }} as double precision) * {{ var('demand_uplift') }})
{%- endmacro %}

{#- Weekly removals over a month from the flow between two month-end lists:
    (previous total + additions over the month - current total) / weeks in the month,
    where additions = weekly demand x weeks in the month. -#}
{% macro weekly_removals(previous_total, weekly_demand, total_waiting, weeks_in_month) -%}
    (({{ previous_total }} + {{ weekly_demand }} * {{ weeks_in_month }} - {{ total_waiting }}) / {{ weeks_in_month }})
{%- endmacro %}

{#- calc_queue_load: demand / capacity (above 1 the list grows). Null when the capacity
    (removals) is not positive: a load is not defined then. -#}
{% macro queue_load(demand, capacity) -%}
    (case when {{ capacity }} > 0 then {{ demand }} / {{ capacity }} end)
{%- endmacro %}

{#- calc_target_mean_wait: the mean wait at which a share `share_within` of patients wait
    under `target_weeks`, if waits are exponential: target / -ln(1 - share). The
    package's `factor` is this -ln(1 - share): its default 4 is 98.2% within the target;
    92% gives 2.53, 99% gives 4.61 (NHS England's analysis: qexp(share)). -#}
{% macro target_mean_wait(target_weeks, share_within) -%}
    ({{ target_weeks }} / (-ln(1 - {{ share_within }})))
{%- endmacro %}

{#- calc_target_queue_size: Little's law, the list size at which the target mean wait
    holds with this demand: demand x target mean wait. -#}
{% macro target_queue_size(demand, target_mean_wait) -%}
    ({{ demand }} * {{ target_mean_wait }})
{%- endmacro %}

{#- calc_relief_capacity: the weekly capacity that brings the list from its size to the
    target size by the target date: demand + (queue size - target queue size) / weeks
    to the target date. -#}
{% macro relief_capacity(demand, queue_size, target_queue_size, weeks_to_target) -%}
    ({{ demand }} + ({{ queue_size }} - {{ target_queue_size }}) / {{ weeks_to_target }})
{%- endmacro %}

{#- Extra weekly capacity: relief capacity above current removals, never negative (0 means
    the service already removes enough to reach the target in time). -#}
{% macro extra_weekly_capacity(relief_capacity, weekly_removals) -%}
    (case
        when {{ relief_capacity }} > {{ weekly_removals }} then {{ relief_capacity }} - {{ weekly_removals }}
        else 0
    end)
{%- endmacro %}

{#- calc_waiting_list_pressure: 2 x mean wait / target wait (above 1 the list will most
    likely miss its target). -#}
{% macro waiting_list_pressure(mean_wait, target_weeks) -%}
    (2 * {{ mean_wait }} / {{ target_weeks }})
{%- endmacro %}

{#- Weeks to clear a backlog at a net weekly fall: 0 when there is none; null when it is
    not falling. -#}
{% macro weeks_to_clear(backlog, weekly_fall) -%}
    (case
        when {{ backlog }} = 0 then 0
        when {{ weekly_fall }} > 0 then {{ backlog }} / {{ weekly_fall }}
    end)
{%- endmacro %}

{#- Weeks from the end of the month `period` (the lists are month-end positions) to a
    date given as 'YYYY-MM-DD'; fractional. -#}
{% macro weeks_to_date(period, target_date) -%}
    (cast({{ dbt.datediff(month_end(period), "cast('" ~ target_date ~ "' as date)", 'day') }} as double precision) / 7)
{%- endmacro %}

{% macro month_end(period) -%}
    {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, period)) }}
{%- endmacro %}

{#- Weeks in the calendar month starting at `period` (days / 7). -#}
{% macro weeks_in_month(period) -%}
    (cast({{ dbt.datediff(period, dbt.dateadd('month', 1, period), 'day') }} as double precision) / 7)
{%- endmacro %}

{#- Months since year 0 as an integer, so that windows over calendar months are a RANGE
    frame on an integer on every adapter (a missing month is a gap, not skipped over). -#}
{% macro month_index(period) -%}
    (cast(extract(year from {{ period }}) as integer) * 12 + cast(extract(month from {{ period }}) as integer))
{%- endmacro %}

{#-
    The weeks-waited bands in weeks, [column, lower, upper] (upper none: open-ended),
    as the band distribution is read by the wait estimates below. They are the days of
    seeds/chs_wait_bands.csv over 7 (upper = max_days / 7, lower = the band before's
    upper); assert_capacity__band_weeks_match_chs_wait_bands checks that.
    `split`: months from December 2024, which publish over 52 weeks as 52-104 and over 104.
-#}
{% macro wait_bands_in_weeks(split) -%}
    {%- set bands = [
        ['wait_0_1_weeks', 0, 1], ['wait_1_2_weeks', 1, 2], ['wait_2_4_weeks', 2, 4],
        ['wait_4_12_weeks', 4, 12], ['wait_12_18_weeks', 12, 18], ['wait_18_52_weeks', 18, 52],
    ] -%}
    {%- if split -%}
        {%- do bands.extend([['wait_52_104_weeks', 52, 104], ['wait_104_plus_weeks', 104, none]]) -%}
    {%- else -%}
        {%- do bands.append(['wait_52_plus_weeks', 52, none]) -%}
    {%- endif -%}
    {{ return(bands) }}
{%- endmacro %}

{#- The sum of the bands (blank bands count 0); null when every band is blank. The split
    bands add up to the same as the unsplit ones (wait_52_plus_weeks is their sum), so the
    model computes it once, as band_total, from the unsplit ones. -#}
{% macro band_sum(bands) -%}
    (case
        when {% for band in bands %}{{ band[0] }} is not null{% if not loop.last %} or {% endif %}{% endfor %}
            then {% for band in bands %}coalesce({{ band[0] }}, 0){% if not loop.last %} + {% endif %}{% endfor %}
    end)
{%- endmacro %}

{#-
    Estimates from the band distribution of a row: its wait_* columns and `band_total`
    (band_sum, as a double: the divisions are floating point on every adapter). The split
    bands where the month publishes them (has_52_week_split), the unsplit ones before.
    Null for an empty list (band_total 0) or blank bands.
-#}

{#- Percentage of the band total waiting up to `weeks` (a band edge). -#}
{% macro pct_waiting_under(weeks, band_total) -%}
    {%- set under = [] -%}
    {%- for band in wait_bands_in_weeks(false) if band[2] is not none and band[2] <= weeks -%}
        {%- do under.append('coalesce(' ~ band[0] ~ ', 0)') -%}
    {%- endfor -%}
    (100 * ({{ under | join(' + ') }}) / nullif({{ band_total }}, 0))
{%- endmacro %}

{#- Percentage of the band total waiting over 52 weeks (the canonical band, every month). -#}
{% macro pct_waiting_over_52_weeks(band_total) -%}
    (100 * coalesce(wait_52_plus_weeks, 0) / nullif({{ band_total }}, 0))
{%- endmacro %}

{#- Mean wait (weeks): each band's patients at its midpoint (waits spread evenly within a
    band), the open top band's at its lower bound, so the mean is a lower bound when that
    band is not empty (mean_wait_is_lower_bound). -#}
{% macro mean_wait_from_bands(band_total) -%}
    (case
        when has_52_week_split then {{ mean_wait_of_bands(wait_bands_in_weeks(true), band_total) }}
        else {{ mean_wait_of_bands(wait_bands_in_weeks(false), band_total) }}
    end)
{%- endmacro %}

{% macro mean_wait_of_bands(bands, band_total) -%}
    {#- integer arithmetic on twice the midpoints (lower + upper), halved at the end -#}
    {%- set weighted = [] -%}
    {%- for band in bands -%}
        {%- set twice_midpoint = 2 * band[1] if band[2] is none else band[1] + band[2] -%}
        {%- do weighted.append('coalesce(' ~ band[0] ~ ', 0) * ' ~ twice_midpoint) -%}
    {%- endfor -%}
    (({{ weighted | join(' + ') }}) / nullif(2 * {{ band_total }}, 0))
{%- endmacro %}

{% macro mean_wait_is_lower_bound() -%}
    (case
        when has_52_week_split then coalesce({{ wait_bands_in_weeks(true)[-1][0] }}, 0) > 0
        else coalesce({{ wait_bands_in_weeks(false)[-1][0] }}, 0) > 0
    end)
{%- endmacro %}

{#- The wait (weeks) under which a share `share` of the list waits, interpolated within
    the band it falls in (waits spread evenly within a band). When it falls in the open
    top band it is that band's lower bound: a lower bound, not an estimate
    (percentile_is_lower_bound). -#}
{% macro wait_percentile_from_bands(share, band_total) -%}
    (case
        when has_52_week_split then {{ wait_percentile_of_bands(wait_bands_in_weeks(true), share, band_total) }}
        else {{ wait_percentile_of_bands(wait_bands_in_weeks(false), share, band_total) }}
    end)
{%- endmacro %}

{% macro wait_percentile_of_bands(bands, share, band_total) -%}
    {%- set rank = '(' ~ share ~ ' * ' ~ band_total ~ ')' -%}
    {%- set below = [] -%}
    {%- set in_band = [] -%}
    {%- for band in bands[:-1] -%}
        {%- set cumulative_before = (below | join(' + ')) or '0' -%}
        {%- do below.append('coalesce(' ~ band[0] ~ ', 0)') -%}
        {%- do in_band.append(
            'when ' ~ (below | join(' + ')) ~ ' >= ' ~ rank ~ ' then ' ~ band[1] ~ ' + (' ~ rank ~ ' - ('
            ~ cumulative_before ~ ')) / ' ~ band[0] ~ ' * ' ~ (band[2] - band[1])
        ) -%}
    {%- endfor -%}
    (case when coalesce({{ band_total }}, 0) = 0 then null {{ in_band | join(' ') }} else {{ bands[-1][1] }} end)
{%- endmacro %}

{#- The `share` percentile falls in the open top band: the closed bands hold less than
    that share (the same comparison as the percentile's). -#}
{% macro percentile_is_lower_bound(share, band_total) -%}
    {%- set open_band = {true: wait_bands_in_weeks(true)[-1][0], false: wait_bands_in_weeks(false)[-1][0]} -%}
    coalesce(case
        when has_52_week_split then {{ band_total }} - coalesce({{ open_band[true] }}, 0) < {{ share }} * {{ band_total }}
        else {{ band_total }} - coalesce({{ open_band[false] }}, 0) < {{ share }} * {{ band_total }}
    end, false)
{%- endmacro %}

{#- `number_expression` rounded to `digits` decimals, halves away from zero, as a double.
    Plain double arithmetic, so both adapters give the same figures: PostgreSQL rounds to
    decimals only through numeric, which cost seconds on the full mart. -#}
{% macro round_to(number_expression, digits) -%}
    {%- set scale = 10 ** digits -%}
    cast(sign({{ number_expression }}) * floor(abs({{ number_expression }}) * {{ scale }} + 0.5) / {{ scale }} as double precision)
{%- endmacro %}

{#-
    The two waiting-time standards the estimates are computed for, "share of patients within
    weeks by target date": their shares and dates are vars (dbt_project.yml); the weeks
    name the columns (extra_weekly_capacity_18_weeks, ...).
-#}
{% macro capacity_standards() -%}
    {{ return([
        {'name': '18_weeks', 'weeks': 18, 'share': var('standard_18_weeks_share'),
         'target_date': var('standard_18_weeks_target_date')},
        {'name': '52_weeks', 'weeks': 52, 'share': var('standard_52_weeks_share'),
         'target_date': var('standard_52_weeks_target_date')},
    ]) }}
{%- endmacro %}

{#- A fingerprint of the vars the estimates are computed with: the capacity model stores
    it and recomputes every month whose rows were made with other values. -#}
{% macro capacity_settings_checksum() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set settings = [var('demand_uplift'), var('capacity_history_months')] -%}
    {%- for standard in capacity_standards() -%}
        {%- do settings.extend([standard.name, standard.share, standard.target_date]) -%}
    {%- endfor -%}
    {{ return(local_md5(settings | join(':'))) }}
{%- endmacro %}
