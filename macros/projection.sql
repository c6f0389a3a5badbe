{#-
    Formulas of the waiting-list projection (models/intermediate/int_projection_*.sql,
    models/marts/fct_waiting_list_projection*.sql), one macro per formula, named after
    what it computes. Arguments are SQL expressions or column-name prefixes.

    The shape follows NHSRtt's R/modelling.R (NHS-R community; Wood & Worthington 2025):
    calibrate per-age-group rates of leaving from consecutive monthly snapshots, then
    apply them month by month to month-wide cohorts. The published bands are not
    month-wide (0-1, 1-2, 2-4, 4-12, 12-18, 18-52, 52+ weeks), so the cohorts are
    reconstructed from them (projection_cohort_allocation).

    Cohorts: c0 .. c11 hold the patients who joined 0 .. 11 whole months ago, ages
    [k W, (k + 1) W) weeks with W = 52 / 12 weeks, so that twelve of them span the
    52 weeks exactly; c52 holds everyone waiting 52 weeks or more.
-#}

{#- A series' key as one text (organisation code blank for National): the projection's
    models join on it, as equality on one column (a hash join on every adapter). -#}
{% macro projection_series_id(prefix='') -%}
    ({{ prefix }}org_level || '|' || coalesce({{ prefix }}org_code, '') || '|' || {{ prefix }}service_category
    || '|' || {{ prefix }}service_key)
{%- endmacro %}

{#- Width of one cohort in weeks: 52 / 12 (a calendar month is 4.35 weeks on average;
    the 0.3% difference keeps the 52-week boundary on a cohort edge). -#}
{% macro projection_cohort_weeks() -%}
    {{ return(52 / 12) }}
{%- endmacro %}

{#- The age group whose rate of leaving applies to cohort k over a month:
    young (c0 .. c3, under 17.3 weeks), mid (c4 .. c10), old (c11 and c52: those who
    are or are about to be 52+ weeks; c11's survivors cross into c52). -#}
{% macro projection_rate_group(k) -%}
    {%- if k <= 3 -%}
        {{ return('young') }}
    {%- elif k <= 10 -%}
        {{ return('mid') }}
    {%- else -%}
        {{ return('old') }}
    {%- endif -%}
{%- endmacro %}

{#- Weeks of band [lower, upper) overlapping cohort k's ages. -#}
{% macro projection_band_overlap(band, k) -%}
    {%- set width = projection_cohort_weeks() -%}
    {%- set low = [band[1], k * width] | max -%}
    {%- set high = [band[2], (k + 1) * width] | min -%}
    {{ return([high - low, 0] | max) }}
{%- endmacro %}

{#- The twelve under-52 cohorts of a month from its bands (prefix: column prefix of the
    band columns, e.g. '' or 'series.'), each band's stock spread over the cohorts its
    ages overlap in proportion to overlap x weight_k, weights[k] a SQL expression (the
    profile: joiners of month t - k x survival to age k); a band whose weights are all 0
    is spread by overlap alone. Returns a list of 12 SQL expressions. -#}
{% macro projection_cohort_allocation(weights, prefix='') -%}
    {%- set cohorts = [] -%}
    {%- for k in range(12) -%}
        {%- set parts = [] -%}
        {%- for band in wait_bands_in_weeks(false) if band[2] is not none -%}
            {%- set overlap = projection_band_overlap(band, k) -%}
            {%- if overlap > 0 -%}
                {%- set weighted = [] -%}
                {%- set plain = [] -%}
                {%- for j in range(12) -%}
                    {%- set overlap_j = projection_band_overlap(band, j) -%}
                    {%- if overlap_j > 0 -%}
                        {%- do weighted.append(overlap_j ~ ' * ' ~ weights[j]) -%}
                        {%- do plain.append(overlap_j) -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- set denominator = '(' ~ weighted | join(' + ') ~ ')' -%}
                {%- do parts.append(
                    'coalesce(' ~ prefix ~ band[0] ~ ', 0) * (case when ' ~ denominator ~ ' > 0 then '
                    ~ overlap ~ ' * ' ~ weights[k] ~ ' / ' ~ denominator ~ ' else '
                    ~ overlap / (plain | sum) ~ ' end)'
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do cohorts.append('(' ~ parts | join(' + ') ~ ')') -%}
    {%- endfor -%}
    {{ return(cohorts) }}
{%- endmacro %}

{#- Profile weights of the cohorts: weight_k = (joiners of month t - k + smoothing)
    x survival from joining to age k under the rates (rate_young, rate_mid: SQL
    expressions, or none for joiners only). joiners_prefix ~ k names the joiners column. -#}
{% macro projection_profile_weights(joiners_prefix, rate_young=none, rate_mid=none) -%}
    {%- set weights = [] -%}
    {%- for k in range(12) -%}
        {%- set survival = [] -%}
        {%- if rate_young is not none -%}
            {%- set young_months = [k, 4] | min -%}
            {%- set mid_months = [k - 4, 0] | max -%}
            {%- if young_months > 0 -%}
                {%- do survival.append('power(1 - ' ~ rate_young ~ ', ' ~ young_months ~ ')') -%}
            {%- endif -%}
            {%- if mid_months > 0 -%}
                {%- do survival.append('power(1 - ' ~ rate_mid ~ ', ' ~ mid_months ~ ')') -%}
            {%- endif -%}
        {%- endif -%}
        {%- do weights.append(
            '((' ~ joiners_prefix ~ k ~ ' + ' ~ var('projection_profile_smoothing') ~ ')'
            ~ (' * ' ~ survival | join(' * ') if survival else '') ~ ')'
        ) -%}
    {%- endfor -%}
    {{ return(weights) }}
{%- endmacro %}

{#- Sum of cohorts `first` .. `last` of a row (columns prefix ~ k). -#}
{% macro projection_cohort_sum(first, last, prefix='c') -%}
    ({% for k in range(first, last + 1) %}{{ prefix }}{{ k }}{% if not loop.last %} + {% endif %}{% endfor %})
{%- endmacro %}

{#- A rate of leaving over a month from a stock balance, ratio of sums over the
    calibration window: 1 - (patients of the group still waiting a month later) /
    (the group's patients a month before), clamped to [0, 1]; null without patients. -#}
{% macro projection_leaving_rate(still_waiting_sum, waiting_before_sum) -%}
    (case
        when {{ waiting_before_sum }} > 0
            then least(1.0, greatest(0.0, 1 - {{ still_waiting_sum }} / {{ waiting_before_sum }}))
    end)
{%- endmacro %}

{#- Patients on the list a month after a state with no extra capacity, from its group
    stocks (young c0 .. c3, mid c4 .. c10, old c11 + c52): joiners (weekly demand x
    weeks) less those leaving within the month, plus each group's survivors. The
    one-month-ahead prediction the interval is calibrated on. -#}
{% macro projection_one_month_total(demand, weeks, young, mid, old, rate_new, rate_young, rate_mid, rate_old) -%}
    ((1 - {{ rate_new }}) * {{ demand }} * {{ weeks }}
        + (1 - {{ rate_young }}) * {{ young }}
        + (1 - {{ rate_mid }}) * {{ mid }}
        + (1 - {{ rate_old }}) * {{ old }})
{%- endmacro %}

{#-
    Two CTEs calibrating the rates of leaving on a relation of month rows with cohorts
    (columns prefix ~ 'c0' .., prefix ~ 'c52'): `name`_transitions marks each month whose
    month before is landed and both are usable for flows (a calibrating transition) and
    carries the month before's group stocks; `name` adds, for the window of `months`
    transitions ending at the month, the ratio-of-sums rates (projection_leaving_rate):
      r_new   = 1 - sum c0(t)                   / sum D(t) w(t)     joiners leaving in their month
      r_young = 1 - sum (c1 + .. + c4)(t)       / sum (c0 + .. + c3)(t-1)
      r_mid   = 1 - sum (c5 + .. + c11)(t)      / sum (c4 + .. + c10)(t-1)
      r_old   = 1 - sum c52(t)                  / sum (c11 + c52)(t-1)
      r_all   = 1 - sum total(t) / sum (total(t-1) + D(t) w(t))   (fallback of an empty group)
    With prefix '' (the final pass) it adds the window's weekly demand D (mean of the
    usable months' weekly_demand, macros/capacity.sql) and its transition count.
-#}
{% macro projection_window_rates(relation, prefix, name, months, series_key) -%}
{%- set groups = {
    'young': [projection_cohort_sum(1, 4, prefix ~ 'c'), projection_cohort_sum(0, 3, 'lag_' ~ prefix ~ 'c')],
    'mid': [projection_cohort_sum(5, 11, prefix ~ 'c'), projection_cohort_sum(4, 10, 'lag_' ~ prefix ~ 'c')],
    'old': [prefix ~ 'c52', '(lag_' ~ prefix ~ 'c11 + lag_' ~ prefix ~ 'c52)'],
} -%}
{%- set before_groups = {
    'young': projection_cohort_sum(0, 3, 'lag_' ~ prefix ~ 'c'),
    'mid': projection_cohort_sum(4, 10, 'lag_' ~ prefix ~ 'c'),
    'old': '(lag_' ~ prefix ~ 'c11 + lag_' ~ prefix ~ 'c52)',
} -%}
    {%- set joiners_in_month = weekly_demand('wait_0_1_weeks') ~ ' * ' ~ projection_cohort_weeks() -%}
    {{ name }}_lags as (

    select
        *,
        coalesce(
            lag(month_index) over series_order = month_index - 1
            and lag(is_usable_for_flows) over series_order
            and is_usable_for_flows,
            false
        ) as {{ prefix }}is_calibrating_transition,
    {%- for k in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 52] %}
            lag({{ prefix }}c{{ k }}) over series_order as lag_{{ prefix }}c{{ k }},
    {%- endfor %}
        lag(total_waiting) over series_order as {{ prefix }}total_before
    from {{ relation }}
    window series_order as (partition by {{ series_key | join(', ') }} order by month_index)

),

{{ name }}_transitions as (

    select
        *,
    {%- for group, before in before_groups.items() %}
        {{ before }} as {{ prefix }}before_{{ group }},
    {%- endfor %}
        case when {{ prefix }}is_calibrating_transition then {{ prefix }}c0 end as {{ prefix }}num_new,
        case when {{ prefix }}is_calibrating_transition then {{ joiners_in_month }} end as {{ prefix }}den_new,
    {%- for group, sums in groups.items() %}
            case when {{ prefix }}is_calibrating_transition then {{ sums[0] }} end as {{ prefix }}num_{{ group }},
            case when {{ prefix }}is_calibrating_transition then {{ sums[1] }} end as {{ prefix }}den_{{ group }},
    {%- endfor %}
        case when {{ prefix }}is_calibrating_transition then total_waiting end as {{ prefix }}num_all,
        case
            when {{ prefix }}is_calibrating_transition then {{ prefix }}total_before + {{ joiners_in_month }}
        end as {{ prefix }}den_all
    from {{ name }}_lags

),

{{ name }} as (

    select
        *,
    {%- for group in ['new', 'young', 'mid', 'old', 'all'] %}
            {{ projection_leaving_rate(
                'sum(' ~ prefix ~ 'num_' ~ group ~ ') over calibration_window',
                'sum(' ~ prefix ~ 'den_' ~ group ~ ') over calibration_window',
            ) }} as {{ prefix }}rate_{{ group }},
        {%- if prefix == '' %}
                sum(num_{{ group }}) over calibration_window as still_waiting_{{ group }},
                sum(den_{{ group }}) over calibration_window as waiting_before_{{ group }},
        {%- endif %}
    {%- endfor %}
    {%- if prefix == '' %}
            avg(case when is_usable_for_flows then {{ weekly_demand('wait_0_1_weeks') }} end)
                over calibration_window as weekly_demand,
            count(case when is_calibrating_transition then 1 end) over calibration_window as calibration_transitions,
    {%- endif %}
        month_index as {{ prefix }}window_end
    from {{ name }}_transitions
    window calibration_window as (
        partition by {{ series_key | join(', ') }}
        order by month_index
        range between {{ [months - 1, 0] | max }} preceding and current row
    )

),
{%- endmacro %}

{#- A series' rate of leaving shrunk towards its parent's (the National series of its
    service): the ratio of sums with `prior_patients` pseudo-patients leaving at the
    parent's rate added to both sums, so a small list's few transitions move the rate
    less than a large list's:
      r = 1 - (still waiting + m (1 - r_parent)) / (waiting before + m), clamped to [0, 1].
    Without a parent rate, the series' own. -#}
{% macro projection_shrunk_rate(still_waiting, waiting_before, parent_rate, prior_patients) -%}
    (case
        when {{ parent_rate }} is null then {{ projection_leaving_rate(still_waiting, waiting_before) }}
        else {{ projection_leaving_rate(
            '(coalesce(' ~ still_waiting ~ ', 0) + ' ~ prior_patients ~ ' * (1 - ' ~ parent_rate ~ '))',
            '(coalesce(' ~ waiting_before ~ ', 0) + ' ~ prior_patients ~ ')',
        ) }}
    end)
{%- endmacro %}

{#- The old group's rate of leaving that would hold the 52+ list level next month:
    (1 - r) (c52 + c11) = c52, so r = c11 / (c52 + c11); null for an empty group. The
    prior the old rate is shrunk towards (projection_52_balance_prior_patients). -#}
{% macro projection_balancing_rate(c52, c11) -%}
    (case when {{ c52 }} + {{ c11 }} > 0 then {{ c11 }} / ({{ c52 }} + {{ c11 }}) end)
{%- endmacro %}

{#- Rate scaled by a factor (a scenario's change in removals), at most 1. -#}
{% macro projection_scaled_rate(rate, factor) -%}
    least(1.0, {{ rate }} * {{ factor }})
{%- endmacro %}

{#-
    One month's step of a state (columns prefix ~ 'c0' .. 'c11', 'c52') to the next,
    as a list of 13 SQL expressions [c0' .. c11', c52']:
      a0       = (1 - r_new) x D x w                    (joiners still waiting)
      a(k+1)   = (1 - r_g(k)) x c_k,  k = 0 .. 10        (survive and age a month)
      a52      = (1 - r_old) x (c52 + c11)
    then extra capacity X = extra patients a week x w removes the longest waiters first
    (a52, then a11, a10, .. a0), never below zero:
      c_x'     = max(a_x - max(X - sum of the cohorts waiting longer than x, 0), 0).
    rates: dict new/young/mid/old of SQL expressions (already scaled by any scenario).
-#}
{% macro projection_step(prefix, demand, weeks, rates, extra_weekly) -%}
    {%- set aged = ['((1 - ' ~ rates.new ~ ') * ' ~ demand ~ ' * ' ~ weeks ~ ')'] -%}
    {%- for k in range(11) -%}
        {%- do aged.append('((1 - ' ~ rates[projection_rate_group(k)] ~ ') * ' ~ prefix ~ 'c' ~ k ~ ')') -%}
    {%- endfor -%}
    {%- do aged.append('((1 - ' ~ rates.old ~ ') * (' ~ prefix ~ 'c52 + ' ~ prefix ~ 'c11))') -%}
    {#- removal order: c52 (index 12), then c11 .. c0 -#}
    {%- set order = [12] + range(11, -1, -1) | list -%}
    {%- set removed = '(' ~ extra_weekly ~ ' * ' ~ weeks ~ ')' -%}
    {%- set stepped = {} -%}
    {%- set above = [] -%}
    {%- for index in order -%}
        {%- set ahead = (above | join(' + ')) if above else '0' -%}
        {%- set remaining = 'greatest(' ~ removed ~ ' - (' ~ ahead ~ '), 0)' -%}
        {%- do stepped.update({index: 'greatest(' ~ aged[index] ~ ' - ' ~ remaining ~ ', 0)'}) -%}
        {%- do above.append(aged[index]) -%}
    {%- endfor -%}
    {{ return(projection_ordered(stepped)) }}
{%- endmacro %}

{% macro projection_ordered(stepped) -%}
    {%- set ordered = [] -%}
    {%- for index in range(13) -%}
        {%- do ordered.append(stepped[index]) -%}
    {%- endfor -%}
    {{ return(ordered) }}
{%- endmacro %}

{#- Share (%) of a state waiting under 18 weeks: c0 .. c3 (under 17.3 weeks) and the
    part of c4 under 18 weeks (its ages are 17.33 .. 21.67 weeks; spread evenly). -#}
{% macro projection_pct_within_18_weeks(prefix='') -%}
    {%- set width = projection_cohort_weeks() -%}
    {%- set c4_share = (18 - 4 * width) / width -%}
    (case
        when {{ projection_total(prefix) }} > 0
            then 100 * ({{ projection_cohort_sum(0, 3, prefix ~ 'c') }} + {{ c4_share }} * {{ prefix }}c4)
                / {{ projection_total(prefix) }}
    end)
{%- endmacro %}

{#- Share (%) of a state waiting under 52 weeks. -#}
{% macro projection_pct_within_52_weeks(prefix='') -%}
    (case
        when {{ projection_total(prefix) }} > 0
            then 100 * {{ projection_cohort_sum(0, 11, prefix ~ 'c') }} / {{ projection_total(prefix) }}
    end)
{%- endmacro %}

{#- The list of a state: every cohort. -#}
{% macro projection_total(prefix='') -%}
    ({{ projection_cohort_sum(0, 11, prefix ~ 'c') }} + {{ prefix }}c52)
{%- endmacro %}

{#- A state meets a standard "share within weeks" (18 or 52): an empty list meets it. -#}
{% macro projection_meets_standard(weeks, share, prefix='') -%}
    {%- if weeks == 18 -%}
        coalesce({{ projection_pct_within_18_weeks(prefix) }} >= 100 * {{ share }}, true)
    {%- else -%}
        coalesce({{ projection_pct_within_52_weeks(prefix) }} >= 100 * {{ share }}, true)
    {%- endif -%}
{%- endmacro %}

{#- The 80% (projection_interval_z) interval of a projected list: the list x
    (1 -/+ z x sigma x sqrt(months ahead)), sigma the root mean square relative error of
    the model's one-month-ahead predictions over the calibration window; never below 0. -#}
{% macro projection_interval_bound(total, sigma, months_ahead, sign) -%}
    greatest(0.0, {{ total }} * (1 {{ sign }} {{ var('projection_interval_z') }} * {{ sigma }} * sqrt({{ months_ahead }})))
{%- endmacro %}

{#- The columns of the state, for select lists: c0, .., c11, c52 with a prefix. -#}
{% macro projection_state_columns(prefix='') -%}
    {%- for k in range(12) %}{{ prefix }}c{{ k }}, {% endfor %}{{ prefix }}c52
{%- endmacro %}

{#-
    A round of the standard-meeting capacity search (int_projection_standard_capacity):
    two CTEs over `candidates` (rows of a series x standard x candidate extra weekly
    capacity `extra`, with the as-of state and parameters): `name`_paths steps each
    candidate's state month by month to the standard's target month with that extra
    capacity from the first month (projection_step); `name` keeps the target month's
    row and whether it meets the standard (projection_meets_standard).
-#}
{% macro projection_search_round(name, candidates) -%}
    {%- set rates = {} -%}
    {%- for group in ['new', 'young', 'mid', 'old'] -%}
        {%- do rates.update({group: 'search.leaving_rate_' ~ group}) -%}
    {%- endfor -%}
    {{ name }}_paths as (

    select
        series_id,
        standard,
        standard_weeks,
        standard_share,
        target_months_ahead,
        candidate,
        extra,
        weekly_demand,
    {%- for group in ['new', 'young', 'mid', 'old'] %}
            leaving_rate_{{ group }},
    {%- endfor %}
        0 as months_ahead,
        {{ projection_state_columns() }}
    from {{ candidates }}

    union all

    select
        search.series_id,
        search.standard,
        search.standard_weeks,
        search.standard_share,
        search.target_months_ahead,
        search.candidate,
        search.extra,
        search.weekly_demand,
    {%- for group in ['new', 'young', 'mid', 'old'] %}
            search.leaving_rate_{{ group }},
    {%- endfor %}
        search.months_ahead + 1 as months_ahead,
    {%- set stepped = projection_step(
        'search.', 'search.weekly_demand', projection_cohort_weeks(), rates, 'search.extra'
    ) %}
    {%- for cohort in stepped %}
        {{ cohort }} as {% if loop.last %}c52{% else %}c{{ loop.index0 }},{% endif %}
    {%- endfor %}
    from {{ name }}_paths as search
    where search.months_ahead < search.target_months_ahead

),

{{ name }} as (

    select
        series_id,
        standard,
        candidate,
        extra,
        case
            when standard_weeks = 18
                then {{ projection_meets_standard(18, 'standard_share') }}
            else {{ projection_meets_standard(52, 'standard_share') }}
        end as meets_standard
    from {{ name }}_paths
    where months_ahead = target_months_ahead

),
{%- endmacro %}

{#- The median of an expression over a group: the ordered-set aggregate both adapters
    run (DuckDB and PostgreSQL), interpolating between the middle two values. -#}
{% macro median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{#- The keyword making a CTE computed once: PostgreSQL otherwise inlines a CTE referenced
    once into the query that reads it, copying its (long) expressions into every place a
    column is used; DuckDB computes common subexpressions once without it. -#}
{% macro materialized_cte() -%}
    {%- set keyword = adapter.dispatch('materialized_cte', 'chs_waiting_lists')() | trim -%}
    {#- sqlfluff's stub of adapter.dispatch (.sqlfluff_libs) renders 'null': nothing then -#}
    {{ return('' if keyword == 'null' else keyword) }}
{%- endmacro %}

{% macro postgres__materialized_cte() -%}
    materialized
{%- endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{#- Pre-hook of the standard search on PostgreSQL: its candidate and bracket CTEs have no
    planner statistics, and with nested loops over them the search took 58 s instead of
    14 s (12 months, 2 cores). Scoped to the model's transaction (set local). -#}
{% macro projection_planner_settings() -%}
    {{ return(adapter.dispatch('projection_planner_settings', 'chs_waiting_lists')()) }}
{%- endmacro %}

{% macro postgres__projection_planner_settings() -%}
    set local enable_nestloop = off
{%- endmacro %}

{% macro default__projection_planner_settings() -%}
    select 1
{%- endmacro %}

{#- The search's candidates of a round: rows numbered `first` to `last`, a table
    `grid (candidate)` to cross join. -#}
{% macro projection_candidate_grid(first, last) -%}
    (values {% for j in range(first, last + 1) %}({{ j }}){% if not loop.last %}, {% endif %}{% endfor %}) as grid (candidate)
{%- endmacro %}
