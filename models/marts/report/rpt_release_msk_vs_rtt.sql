{#-
    Community MSK waits against RTT trauma and orthopaedics waits, per trust and month:
    the trust's adult community MSK waiting list and its RTT trauma and orthopaedics
    incomplete pathways (trust_metrics.rtt_data), for trusts with both (RTT pathways
    above 0: trusts that run the service; so trusts of trust_metrics only, in the months
    it holds, with the trust's name that month); and, across the month's trusts, the Pearson
    correlation of the two and the number of trusts paired. Release report, section 6.
-#}
{{ config(materialized='view') }}

with

trust_services as (

    select * from {{ ref('rpt_release_trust_services') }}
    where service_category = 'adult' and service_key = 'msk_service'

),

trust_months as (

    select * from {{ ref('trust_metrics') }}

),

paired as (

    select
        trust_services.period,
        trust_services.trust_code,
        trust_months.trust_name,
        trust_services.total_waiting as msk_waiting,
        cast(
            {{ rtt_measure('trust_months.rtt_data', 'rtt_trauma_orthopaedics_total_incomplete_pathways') }} as bigint
        ) as rtt_trauma_orthopaedics_waiting
    from trust_services
    inner join trust_months
        on
            trust_services.trust_code = trust_months.trust_code
            and trust_services.period = trust_months.period

),

final as (

    select
        period,
        trust_code,
        trust_name,
        msk_waiting,
        rtt_trauma_orthopaedics_waiting,
        count(*) over (partition by period) as trusts_paired,
        round(
            cast(
                corr(
                    cast(msk_waiting as {{ dbt.type_float() }}),
                    cast(rtt_trauma_orthopaedics_waiting as {{ dbt.type_float() }})
                ) over (partition by period) as {{ dbt.type_numeric() }}
            ),
            3
        ) as msk_rtt_correlation
    from paired
    where rtt_trauma_orthopaedics_waiting > 0

)

select * from final
