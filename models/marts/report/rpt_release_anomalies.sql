{#-
    Suspicious provider months flagged in fct_community_waits: a provider's row equal to
    its previous month (rolled forward) or all zeros after a month with a list (a
    submission glitch), one row per month, provider and flag. Release report, section 8.

    Disabled until the anomaly flags of issue 18 (fct_community_waits.is_rolled_forward,
    .is_zero_glitch) are in the project. To enable: delete `enabled=false` below and match
    the flag columns to the fct's. The report lists these rows whenever this view exists
    and says "not available in this build" otherwise.
-#}
{{ config(materialized='view', enabled=false) }}

with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'Provider'

),

flagged as (

    select
        period,
        org_code,
        org_name,
        'rolled forward' as anomaly,
        total_waiting
    from community_waits
    where is_rolled_forward
    union all
    select
        period,
        org_code,
        org_name,
        'all zeros (submission glitch)' as anomaly,
        total_waiting
    from community_waits
    where is_zero_glitch

),

final as (

    select
        period,
        org_code,
        max(org_name) as org_name,
        anomaly,
        count(*) as services_flagged,
        cast(sum(total_waiting) as bigint) as total_waiting
    from flagged
    group by period, org_code, anomaly

)

select * from final
