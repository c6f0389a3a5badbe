-- Largest waiting lists by service and trust in the latest month: where the volume is.
with

community_waits as (

    select * from {{ ref('fct_community_waits') }}

),

latest as (

    select max(period) as period from community_waits

)

select
    community_waits.trust_code,
    community_waits.org_name,
    community_waits.service_category,
    community_waits.service_key,
    community_waits.total_waiting,
    community_waits.wait_52_plus_weeks
from community_waits
inner join latest
    on community_waits.period = latest.period
where
    community_waits.org_type = 'Provider'
    and community_waits.total_waiting is not null
order by community_waits.total_waiting desc
limit 25
