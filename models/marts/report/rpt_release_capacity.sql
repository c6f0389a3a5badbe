{#-
    The services needing the most extra weekly capacity to meet the 18-week standard,
    per month: England's services (org_type National) and the providers' services
    (org_type Provider), ranked within each, from fct_waiting_list_capacity (its
    org_level). Release report, section 7.
-#}
{{ config(materialized='view') }}

with

capacity as (

    select
        period,
        org_level as org_type,
        org_code,
        org_name,
        service_category,
        service_key,
        total_waiting,
        wait_52_plus_weeks,
        extra_weekly_capacity_18_weeks
    from {{ ref('fct_waiting_list_capacity') }}
    where org_level in ('National', 'Provider')

),

services as (

    select * from {{ ref('chs_services') }}

),

final as (

    select
        capacity.period,
        capacity.org_type,
        capacity.org_code,
        capacity.org_name,
        capacity.service_category,
        capacity.service_key,
        {{ service_name('services.service_label') }} as service_name,
        capacity.total_waiting,
        capacity.wait_52_plus_weeks,
        capacity.extra_weekly_capacity_18_weeks,
        row_number() over (
            partition by capacity.period, capacity.org_type
            order by capacity.extra_weekly_capacity_18_weeks desc, capacity.org_code asc, services.published_order asc
        ) as capacity_rank
    from capacity
    inner join services
        on
            capacity.service_category = services.service_category
            and capacity.service_key = services.service_key
    where capacity.extra_weekly_capacity_18_weeks > 0

)

select * from final
