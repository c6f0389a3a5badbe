{#-
    Each NHS trust's community waiting list per month (every NHS trust provider with
    community data: the trusts of trust_metrics and the NHS trusts it holds no row for,
    in_trust_metrics saying which), with its name and ICB, its long waits and share over
    18 weeks, and its rank among the month's trusts by 52+ week waits, by share over 18
    weeks and by list size. The release report's trust rankings and 12-month trends
    (section 5).
-#}
{{ config(materialized='view') }}

with

trust_services as (

    select * from {{ ref('rpt_release_trust_services') }}

),

per_trust as (

    select
        period,
        trust_code,
        trust_name,
        icb_code,
        icb_name,
        in_trust_metrics,
        count(*) as services_reported,
        cast(sum(total_waiting) as bigint) as total_waiting,
        cast(sum(wait_52_plus_weeks) as bigint) as wait_52_plus_weeks,
        cast(sum(wait_104_plus_weeks) as bigint) as wait_104_plus_weeks,
        cast(sum(waiting_within_18_weeks) as bigint) as waiting_within_18_weeks,
        cast(sum(waiting_in_bands) as bigint) as waiting_in_bands
    from trust_services
    group by period, trust_code, trust_name, icb_code, icb_name, in_trust_metrics

),

measured as (

    select
        per_trust.period,
        per_trust.trust_code,
        per_trust.trust_name,
        per_trust.icb_code,
        per_trust.icb_name,
        per_trust.in_trust_metrics,
        per_trust.services_reported,
        per_trust.total_waiting,
        per_trust.wait_52_plus_weeks,
        per_trust.wait_104_plus_weeks,
        {{ percent('per_trust.waiting_in_bands - per_trust.waiting_within_18_weeks', 'per_trust.waiting_in_bands') }}
            as pct_over_18_weeks
    from per_trust

),

final as (

    select
        period,
        trust_code,
        trust_name,
        icb_code,
        icb_name,
        in_trust_metrics,
        services_reported,
        total_waiting,
        wait_52_plus_weeks,
        wait_104_plus_weeks,
        pct_over_18_weeks,
        row_number() over (
            partition by period order by coalesce(wait_52_plus_weeks, 0) desc, trust_code asc
        ) as long_wait_rank,
        row_number() over (
            partition by period order by coalesce(pct_over_18_weeks, 0) desc, trust_code asc
        ) as over_18_weeks_rank,
        row_number() over (partition by period order by total_waiting desc, trust_code asc) as list_size_rank
    from measured

)

select * from final
