-- Zero vs blank preserved. Per month and published measure, the pivot (the rows of
-- fct_community_waits) holds exactly as many values, and as many zeros, as the published
-- cells: a blank never becomes 0 and a 0 never becomes blank. The canonical
-- wait_52_plus_weeks is compared only in months that published it (until November 2024);
-- later it is derived from the split bands. Checks the releases not yet made into
-- community_health_data (macros/validation_scope.sql).
{%- set measures = waiting_measures() %}
{%- set in_scope = new_releases_condition('int_community_health_data_built') %}

with

waiting_list_values as (

    select * from {{ ref('stg_chs__waiting_list_values') }}
    where {{ in_scope }}

),

community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where {{ in_scope }}

),

wait_bands as (

    select * from {{ ref('chs_wait_bands') }}

),

published_by_label as (

    select
        period,
        measure_label,
        count(value_number) as value_count,
        sum(case when value_number = 0 then 1 else 0 end) as zero_count
    from waiting_list_values
    group by period, measure_label

),

published as (

    select
        published_by_label.period,
        coalesce(wait_bands.band_key, 'total_waiting') as measure,
        sum(published_by_label.value_count) as value_count,
        sum(published_by_label.zero_count) as zero_count
    from published_by_label
    left join wait_bands
        on lower(published_by_label.measure_label) = lower(wait_bands.title_label)
    group by published_by_label.period, coalesce(wait_bands.band_key, 'total_waiting')
    having sum(published_by_label.value_count) > 0

),

modelled_counts as (

    select
        period,
        {%- for measure in measures %}
            count({{ measure }}) as {{ measure }}__values,
            sum(case when {{ measure }} = 0 then 1 else 0 end) as {{ measure }}__zeros
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from community_waits
    group by period

),

modelled as (

    {%- for measure in measures %}
        select
            period,
            '{{ measure }}' as measure,
            {{ measure }}__values as value_count,
            {{ measure }}__zeros as zero_count
        from modelled_counts
        where
            {{ measure }}__values > 0
            {%- if measure == 'wait_52_plus_weeks' %}
                -- months that publish the split bands derive it from them
                and wait_52_104_weeks__values = 0
            {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

mismatches as (

    select
        coalesce(published.period, modelled.period) as period,
        coalesce(published.measure, modelled.measure) as measure,
        published.value_count as published_values,
        modelled.value_count as modelled_values,
        published.zero_count as published_zeros,
        modelled.zero_count as modelled_zeros
    from published
    full outer join modelled
        on
            published.period = modelled.period
            and published.measure = modelled.measure
    where
        published.measure is null
        or modelled.measure is null
        or published.value_count != modelled.value_count
        or published.zero_count != modelled.zero_count

)

select * from mismatches
