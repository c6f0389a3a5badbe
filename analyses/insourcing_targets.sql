-- Insourcing targets: NHS trust services with the most 52+ week waits in the latest month,
-- with their share of the service's list and the change since the first month landed.
-- Every NHS trust provider (fct_trust_community_waits): in_trust_metrics is false for an
-- NHS trust the trust_metrics table holds no row for (community, mental health and
-- combined trusts), whose figures are not in community_health_data.
-- A series with a service step after the first month (int_service_months_flagged: its
-- list x5 or x0.2 in a month, e.g. a caseload reported for the first time) has no change
-- since the first month (null, has_service_step true): the step is not a movement. A
-- trust in trust_metrics is flagged as a trust series; one outside it as its provider.
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

trusts_outside_trust_metrics as (

    select distinct trust_code
    from trust_services
    where not in_trust_metrics

),

service_steps as (

    select
        service_months.org_code as trust_code,
        service_months.service_category,
        service_months.service_key,
        count(*) as service_steps
    from {{ ref('int_service_months_flagged') }} as service_months
    inner join bounds
        on service_months.period > bounds.first_period and service_months.period <= bounds.latest_period
    left join trusts_outside_trust_metrics
        on service_months.org_code = trusts_outside_trust_metrics.trust_code
    where
        service_months.is_service_step
        and (
            service_months.org_level = 'trust'
            or (service_months.org_level = 'provider' and trusts_outside_trust_metrics.trust_code is not null)
        )
    group by service_months.org_code, service_months.service_category, service_months.service_key

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
    case
        when service_steps.service_steps is null then latest.wait_52_plus_weeks - earliest.wait_52_plus_weeks
    end as change_since_first_month,
    service_steps.service_steps is not null as has_service_step
from latest
left join earliest
    on
        latest.trust_code = earliest.trust_code
        and latest.service_category = earliest.service_category
        and latest.service_key = earliest.service_key
left join service_steps
    on
        latest.trust_code = service_steps.trust_code
        and latest.service_category = service_steps.service_category
        and latest.service_key = service_steps.service_key
order by latest.wait_52_plus_weeks desc, latest.trust_code asc, latest.service_key asc
limit 25
