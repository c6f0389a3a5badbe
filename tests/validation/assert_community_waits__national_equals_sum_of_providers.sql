-- Reconciliation. For every month, service and band, the National row equals the sum of
-- the Provider rows: nothing was lost or counted twice between the published sheets and
-- the mart. Excepted: services NHS England publishes only nationally (adult safeguarding,
-- looked after children teams, CYP safeguarding), whose provider rows are blank.
-- Checked on the 12 real releases: exact in every other cell. Checks the releases not
-- yet made into community_health_data (macros/validation_scope.sql).
{{ config(store_failures=true) }}

{%- set measures = waiting_measures() %}

with

community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where {{ new_releases_condition('int_community_health_data_built') }}

),

services as (

    select * from {{ ref('chs_services') }}

),

totals as (

    select
        community_waits.period,
        community_waits.service_label,
        {%- for measure in measures %}
            max(case when community_waits.org_type = 'National' then community_waits.{{ measure }} end)
                as national_{{ measure }},
            sum(case when community_waits.org_type = 'Provider' then community_waits.{{ measure }} end)
                as providers_{{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from community_waits
    inner join services
        on community_waits.service_label = services.service_label
    where not services.published_nationally_only
    group by community_waits.period, community_waits.service_label

),

mismatches as (

    {%- for measure in measures %}
        select
            period,
            service_label,
            '{{ measure }}' as measure,
            national_{{ measure }} as national_value,
            providers_{{ measure }} as providers_sum
        from totals
        where coalesce(national_{{ measure }}, -1) != coalesce(providers_{{ measure }}, -1)
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from mismatches
