-- Reconciliation of the capacity mart. For every month and service, the National row's
-- list sizes carried over from fct_community_waits (total, 0-1 weeks, over 52 and over 104
-- weeks) equal the sums of the Provider rows, so nothing was lost or counted twice on the
-- way to the estimates. Excepted: services published only nationally (their provider
-- rows are blank, so not in the mart). Checks the rows this run wrote
-- (macros/validation_scope.sql).
{%- set measures = ['total_waiting', 'wait_0_1_weeks', 'wait_52_plus_weeks', 'wait_104_plus_weeks'] %}

with

capacity as (

    select * from {{ ref('fct_waiting_list_capacity') }}
    where {{ rows_built_by_this_run() }}

),

services as (

    select * from {{ ref('chs_services') }}

),

sums as (

    select
        capacity.period,
        capacity.service_category,
        capacity.service_key,
        {%- for measure in measures %}
            max(case when capacity.org_level = 'National' then capacity.{{ measure }} end) as national_{{ measure }},
            sum(case when capacity.org_level = 'Provider' then capacity.{{ measure }} end) as providers_{{ measure }},
        {%- endfor %}
        count(*) as organisations
    from capacity
    inner join services
        on
            capacity.service_category = services.service_category
            and capacity.service_key = services.service_key
    where not services.published_nationally_only
    group by capacity.period, capacity.service_category, capacity.service_key

),

mismatches as (

    select * from sums
    where
        false
        {%- for measure in measures %}
            or national_{{ measure }} is distinct from providers_{{ measure }}
        {%- endfor %}

)

select * from mismatches
