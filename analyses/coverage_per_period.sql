-- Status report, validation query 1: coverage per period. How many trusts in
-- trust_metrics have community, RTT and A&E data each month.
with

coverage as (

    select * from {{ ref('community_period_coverage') }}

)

select
    period,
    total_trusts,
    trusts_with_community_data,
    trusts_with_rtt_data,
    trusts_with_ae_data,
    pct_with_community_data
from coverage
order by period
