{#-
    The release report's headline figures (section 1), one row per month and measure,
    with the value of the calendar month before and of the same month a year earlier
    where those were landed, and the change on each. Percentages change in percentage points.
-#}
{{ config(materialized='view') }}
{%- set measure_names = [
    'patients_waiting', 'patients_waiting_adult', 'patients_waiting_cyp', 'waits_over_52_weeks',
    'waits_over_104_weeks', 'pct_within_18_weeks', 'trusts_with_community_data', 'trust_metrics_trusts',
    'pct_trusts_with_community_data',
] %}

with

national_waits as (

    select * from {{ ref('rpt_release_national_waits') }}

),

coverage as (

    select * from {{ ref('community_period_coverage') }}

),

england as (

    select
        national_waits.period,
        sum(national_waits.total_waiting) as patients_waiting,
        sum(case when national_waits.service_category = 'adult' then national_waits.total_waiting end)
            as patients_waiting_adult,
        sum(case when national_waits.service_category = 'cyp' then national_waits.total_waiting end)
            as patients_waiting_cyp,
        sum(national_waits.wait_52_plus_weeks) as waits_over_52_weeks,
        sum(national_waits.wait_104_plus_weeks) as waits_over_104_weeks,
        {{ percent('sum(national_waits.waiting_within_18_weeks)', 'sum(national_waits.waiting_in_bands)') }}
            as pct_within_18_weeks,
        max(coverage.trusts_with_community_data) as trusts_with_community_data,
        max(coverage.total_trusts) as trust_metrics_trusts,
        max(coverage.pct_with_community_data) as pct_trusts_with_community_data
    from national_waits
    left join coverage
        on national_waits.period = coverage.period
    group by national_waits.period

),

measures as (

    select
        england.period,
        measure_names.measure,
        measure_names.measure_order,
        case measure_names.measure
            {%- for measure in measure_names %}
                when '{{ measure }}' then cast(england.{{ measure }} as {{ dbt.type_numeric() }})
            {%- endfor %}
        end as measure_value
    from england
    cross join (
        values
        {%- for measure in measure_names %}
            ('{{ measure }}', {{ loop.index }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as measure_names (measure, measure_order)

),

final as (

    select
        measures.period,
        measures.measure,
        measures.measure_order,
        measures.measure_value,
        cast({{ dbt.dateadd('month', -1, 'measures.period') }} as date) as previous_period,
        previous_month.measure_value as previous_month_value,
        measures.measure_value - previous_month.measure_value as change_on_previous_month,
        {{ percent('measures.measure_value - previous_month.measure_value', 'previous_month.measure_value') }}
            as pct_change_on_previous_month,
        cast({{ dbt.dateadd('month', -12, 'measures.period') }} as date) as year_ago_period,
        year_ago.measure_value as year_ago_value,
        measures.measure_value - year_ago.measure_value as change_on_year_ago,
        {{ percent('measures.measure_value - year_ago.measure_value', 'year_ago.measure_value') }}
            as pct_change_on_year_ago
    from measures
    left join measures as previous_month
        on
            measures.measure = previous_month.measure
            and previous_month.period = cast({{ dbt.dateadd('month', -1, 'measures.period') }} as date)
    left join measures as year_ago
        on
            measures.measure = year_ago.measure
            and year_ago.period = cast({{ dbt.dateadd('month', -12, 'measures.period') }} as date)

)

select * from final
