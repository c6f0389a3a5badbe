{#-
    Section 8 of the release report: the service months flagged as steps
    (int_service_months_flagged: one organisation's list of one service at least x5 or
    at most x0.2 the month before's, on a list over 1,000), providers and trusts, one row
    per month, level, organisation and service, with the list before and after, the
    ratio and the likely cause. The data is as published; the capacity estimates take
    no flow from these months.
-#}
{{ config(materialized='view') }}

with

service_months as (

    select * from {{ ref('int_service_months_flagged') }}
    where is_service_step

),

services as (

    select * from {{ ref('chs_services') }}

),

final as (

    select
        service_months.period,
        service_months.org_level,
        service_months.org_code,
        service_months.org_name,
        service_months.service_category,
        service_months.service_key,
        services.service_label,
        service_months.previous_total_waiting,
        service_months.total_waiting,
        {{ round_to('service_months.change_ratio', 2) }} as change_ratio,
        service_months.likely_cause
    from service_months
    inner join services
        on
            service_months.service_category = services.service_category
            and service_months.service_key = services.service_key

)

select * from final
