-- Community vs RTT: per trust, the correlation over the months between its community
-- MSK waiting list and its RTT trauma and orthopaedics incomplete pathways. Trusts with
-- at least 6 months of both. Trusts of trust_metrics only: the RTT figures are trust_metrics'
-- own, and the NHS trusts it holds no row for (community, mental health and combined
-- trusts) have none.
with

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

community_waits as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    where service_category = 'adult' and service_key = 'msk_service'

),

paired as (

    select
        trust_metrics.trust_code,
        trust_metrics.trust_name,
        trust_metrics.period,
        cast(community_waits.total_waiting as {{ dbt.type_float() }}) as msk_waiting,
        {{ rtt_measure('trust_metrics.rtt_data', 'rtt_trauma_orthopaedics_total_incomplete_pathways') }}
            as rtt_trauma_orthopaedics_waiting
    from trust_metrics
    inner join community_waits
        on
            trust_metrics.trust_code = community_waits.trust_code
            and trust_metrics.period = community_waits.period

)

select
    trust_code,
    max(trust_name) as trust_name,
    count(*) as months_paired,
    round(cast(corr(msk_waiting, rtt_trauma_orthopaedics_waiting) as numeric), 3) as msk_rtt_correlation,
    round(cast(avg(msk_waiting) as numeric), 0) as avg_msk_waiting,
    round(cast(avg(rtt_trauma_orthopaedics_waiting) as numeric), 0) as avg_rtt_trauma_orthopaedics_waiting
from paired
where msk_waiting is not null and rtt_trauma_orthopaedics_waiting is not null
group by trust_code
having
    count(*) >= 6
    and stddev_samp(msk_waiting) > 0
    and stddev_samp(rtt_trauma_orthopaedics_waiting) > 0
order by msk_rtt_correlation desc
