{#-
    Each trust's community waiting list by service and month, for the trusts of
    trust_metrics with community data (the providers mapped to a trust, added up), with
    the service's rank by list size within the trust. The release report's drill-down
    (section 5).
-#}
{{ config(materialized='view') }}

with

trust_services as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    where total_waiting is not null

),

trust_months as (

    select * from {{ ref('trust_metrics') }}
    where community_health_data is not null

),

services as (

    select * from {{ ref('chs_services') }}

),

measured as (

    select
        trust_services.period,
        trust_services.trust_code,
        trust_months.trust_name,
        trust_services.service_category,
        trust_services.service_key,
        {{ service_name('services.service_label') }} as service_name,
        services.published_order,
        trust_services.total_waiting,
        trust_services.wait_52_plus_weeks,
        trust_services.wait_104_plus_weeks,
        {{ waiting_in_bands(within_18_weeks=true) }} as waiting_within_18_weeks,
        {{ waiting_in_bands() }} as waiting_in_bands
    from trust_services
    inner join trust_months
        on
            trust_services.trust_code = trust_months.trust_code
            and trust_services.period = trust_months.period
    inner join services
        on
            trust_services.service_category = services.service_category
            and trust_services.service_key = services.service_key

),

final as (

    select
        period,
        trust_code,
        trust_name,
        service_category,
        service_key,
        service_name,
        published_order,
        total_waiting,
        wait_52_plus_weeks,
        wait_104_plus_weeks,
        waiting_within_18_weeks,
        waiting_in_bands,
        {{ percent('waiting_in_bands - waiting_within_18_weeks', 'waiting_in_bands') }} as pct_over_18_weeks,
        row_number() over (
            partition by period, trust_code
            order by total_waiting desc, service_category asc, published_order asc
        ) as list_size_rank
    from measured

)

select * from final
