-- Zero vs blank preserved. Per month and published measure, the mart holds exactly as
-- many values, and as many zeros, as the published cells: a blank never becomes 0 and a
-- 0 never becomes blank. The canonical wait_52_plus_weeks is compared only in months that
-- published it (until November 2024); later it is derived from the split bands.
{%- set measures = waiting_measures() %}

with

waiting_list_values as (

    select * from {{ ref('stg_chs__waiting_list_values') }}

),

community_waits as (

    select * from {{ ref('fct_community_waits') }}

),

wait_bands as (

    select * from {{ ref('chs_wait_bands') }}

),

split_months as (

    select distinct period from community_waits
    where wait_52_104_weeks is not null

),

published as (

    select
        waiting_list_values.period,
        coalesce(wait_bands.band_key, 'total_waiting') as measure,
        count(waiting_list_values.value_number) as value_count,
        sum(case when waiting_list_values.value_number = 0 then 1 else 0 end) as zero_count
    from waiting_list_values
    left join wait_bands
        on lower(waiting_list_values.measure_label) = lower(wait_bands.title_label)
    group by waiting_list_values.period, coalesce(wait_bands.band_key, 'total_waiting')
    having count(waiting_list_values.value_number) > 0

),

modelled as (

    {%- for measure in measures %}
        select
            period,
            '{{ measure }}' as measure,
            count({{ measure }}) as value_count,
            sum(case when {{ measure }} = 0 then 1 else 0 end) as zero_count
        from community_waits
        {%- if measure == 'wait_52_plus_weeks' %}
            where period not in (select split_months.period from split_months)
        {%- endif %}
        group by period
        having count({{ measure }}) > 0
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
