-- 52+ week waits over time, nationally, by service category, and the share of the
-- waiting list they are: is the long tail growing?
with

national_waits as (

    select * from {{ ref('fct_national_community_waits') }}

)

select
    period,
    service_category,
    sum(total_waiting) as total_waiting,
    sum(wait_52_plus_weeks) as wait_52_plus_weeks,
    sum(wait_104_plus_weeks) as wait_104_plus_weeks,
    round(100.0 * sum(wait_52_plus_weeks) / nullif(sum(total_waiting), 0), 2) as pct_52_plus_weeks
from national_waits
group by period, service_category
order by period, service_category
