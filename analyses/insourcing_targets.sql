-- Insourcing targets: NHS trust services with the most 52+ week waits in the latest month,
-- with their share of the service's list and the change since the first month landed.
-- Every NHS trust provider (fct_trust_community_waits): in_trust_metrics is false for an
-- NHS trust the trust_metrics table holds no row for (community, mental health and
-- combined trusts), whose figures are not in community_health_data.
with

trust_services as (

    select * from {{ ref('fct_trust_community_waits') }}

),

bounds as (

    select
        min(period) as first_period,
        max(period) as latest_period
    from trust_services

),

latest as (

    select trust_services.*
    from trust_services
    inner join bounds
        on trust_services.period = bounds.latest_period
    where trust_services.wait_52_plus_weeks > 0

),

earliest as (

    select trust_services.*
    from trust_services
    inner join bounds
        on trust_services.period = bounds.first_period

)

select
    latest.trust_code,
    latest.trust_name,
    latest.in_trust_metrics,
    latest.service_category,
    latest.service_key,
    latest.total_waiting,
    latest.wait_52_plus_weeks,
    round(100.0 * latest.wait_52_plus_weeks / nullif(latest.total_waiting, 0), 1) as pct_52_plus_weeks,
    latest.wait_52_plus_weeks - earliest.wait_52_plus_weeks as change_since_first_month
from latest
left join earliest
    on
        latest.trust_code = earliest.trust_code
        and latest.service_category = earliest.service_category
        and latest.service_key = earliest.service_key
order by latest.wait_52_plus_weeks desc, latest.trust_code asc, latest.service_key asc
limit 25
