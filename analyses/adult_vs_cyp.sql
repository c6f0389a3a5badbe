-- Adult vs children and young people's services per month: list size, long waits and
-- the number of providers reporting.
with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'Provider' and total_waiting is not null

)

select
    period,
    service_category,
    count(distinct org_code) as providers_reporting,
    sum(total_waiting) as total_waiting,
    sum(wait_18_52_weeks) as wait_18_52_weeks,
    sum(wait_52_plus_weeks) as wait_52_plus_weeks
from community_waits
group by period, service_category
order by period, service_category
