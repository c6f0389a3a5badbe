-- Largest waiting lists by service and NHS trust in the latest month: where the volume is.
-- Every NHS trust provider (fct_trust_community_waits), with in_trust_metrics false for an
-- NHS trust the trust_metrics table holds no row for.
with

trust_services as (

    select * from {{ ref('fct_trust_community_waits') }}

),

latest as (

    select max(period) as period from trust_services

)

select
    trust_services.trust_code,
    trust_services.trust_name,
    trust_services.in_trust_metrics,
    trust_services.service_category,
    trust_services.service_key,
    trust_services.total_waiting,
    trust_services.wait_52_plus_weeks
from trust_services
inner join latest
    on trust_services.period = latest.period
order by trust_services.total_waiting desc, trust_services.trust_code asc, trust_services.service_key asc
limit 25
