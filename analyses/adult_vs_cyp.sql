-- Adult vs children and young people's services per month: list size, long waits and
-- the number of providers reporting (every provider, NHS trust or not).
with

provider_waits as (

    select * from {{ ref('fct_provider_community_waits') }}
    where total_waiting is not null

)

select
    period,
    service_category,
    count(distinct org_code) as providers_reporting,
    sum(total_waiting) as total_waiting,
    sum(wait_18_52_weeks) as wait_18_52_weeks,
    sum(wait_52_plus_weeks) as wait_52_plus_weeks
from provider_waits
group by period, service_category
order by period, service_category
