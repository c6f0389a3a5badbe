-- Status report, validation query 3: average, minimum and maximum number of services
-- reported per trust, per period. About trust_metrics' own community_health_data, so
-- trusts of trust_metrics only.
with

community_health as (

    select * from {{ ref('int_community_health_data_built') }}

)

select
    period,
    count(*) as trusts_with_community_data,
    round(avg(services_reported), 1) as avg_services_reported,
    min(services_reported) as min_services_reported,
    max(services_reported) as max_services_reported
from community_health
group by period
order by period
