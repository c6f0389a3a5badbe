-- Primary keys of the level views and the trust mart: each is unique on its key and no
-- key column is null (nulls counted as a key of their own). Reads the months this build
-- flagged (macros/level_marts.sql), every month on a first build.
-- depends_on: {{ ref('int_organisation_months_flagged') }}
{%- set marts = {
    'fct_national_community_waits': ['period', 'service_category', 'service_key'],
    'fct_region_community_waits': ['period', 'region_code', 'service_category', 'service_key'],
    'fct_icb_community_waits': ['period', 'icb_code', 'service_category', 'service_key'],
    'fct_provider_community_waits': ['period', 'org_code', 'service_category', 'service_key'],
    'fct_trust_community_waits': ['period', 'trust_code', 'service_category', 'service_key'],
} %}

with

{% for mart, key in marts.items() %}
{{ mart }}_keys as (

    select
        '{{ mart }}' as mart,
        {%- for column in key %}
        cast({{ column }} as {{ dbt.type_string() }}) as key_{{ loop.index }},
        {%- endfor %}
        {%- for _ in range(key | length, 4) %}
        cast(null as {{ dbt.type_string() }}) as key_{{ loop.index + key | length }},
        {%- endfor %}
        count(*) as row_count,
        {{ key | join(' is null or ') }} is null as has_null_key
    from {{ ref(mart) }}
    where {{ months_flagged_by_this_build() }}
    group by {{ key | join(', ') }}

),

{% endfor %}
failures as (

    {%- for mart in marts %}
    select * from {{ mart }}_keys
    where row_count > 1 or has_null_key
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from failures
