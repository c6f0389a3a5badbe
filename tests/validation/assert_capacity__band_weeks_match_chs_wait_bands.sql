-- The band edges in weeks that the capacity estimates read the bands with
-- (wait_bands_in_weeks in macros/capacity.sql) are the published bands of
-- seeds/chs_wait_bands.csv: upper edge = max_days / 7, lower edge = the previous band's
-- upper edge = (min_days - 1) / 7 (0 for the first band); open bands have no max_days.
-- Every band the estimates read is in the seed. Known exceptions: none.
{%- set bands = {} %}
{%- for split in [false, true] %}
    {%- for band in wait_bands_in_weeks(split) %}
        {%- do bands.update({band[0]: band}) %}
    {%- endfor %}
{%- endfor %}

with

wait_bands as (

    select * from {{ ref('chs_wait_bands') }}

),

band_weeks as (

    {%- for band_key, band in bands.items() %}
        select
            '{{ band_key }}' as band_key,
            {{ band[1] }} as lower_weeks,
            {{ 'cast(null as integer)' if band[2] is none else band[2] }} as upper_weeks
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

mismatches as (

    select
        band_weeks.band_key,
        band_weeks.lower_weeks,
        band_weeks.upper_weeks,
        wait_bands.min_days,
        wait_bands.max_days
    from band_weeks
    left join wait_bands
        on band_weeks.band_key = wait_bands.band_key
    where
        wait_bands.band_key is null
        or band_weeks.lower_weeks * 7 != greatest(wait_bands.min_days - 1, 0)
        or (band_weeks.upper_weeks * 7) is distinct from wait_bands.max_days

)

select * from mismatches
