{#-
    Each NHS trust's community waiting list by service and month: every NHS trust provider
    (fct_trust_community_waits: the trusts of trust_metrics, their providers added up as in
    community_health_data, and the NHS trusts trust_metrics holds no row for), with
    in_trust_metrics saying which, and the service's rank by list size within the trust.
    The release report's drill-down (section 5).
-#}
{{ config(materialized='view') }}

with

trust_services as (

    select * from {{ ref('fct_trust_community_waits') }}

),

services as (

    select * from {{ ref('chs_services') }}

),

measured as (

    select
        trust_services.period,
        trust_services.trust_code,
        trust_services.trust_name,
        trust_services.icb_code,
        trust_services.icb_name,
        trust_services.in_trust_metrics,
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
        icb_code,
        icb_name,
        in_trust_metrics,
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
