{#- Per month: how many trust_metrics trusts have community, RTT and A&E data. -#}
{{ config(materialized='view') }}
with

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

coverage as (

    select
        period,
        count(*) as total_trusts,
        count(community_health_data) as trusts_with_community_data,
        count(rtt_data) as trusts_with_rtt_data,
        count(ae_data) as trusts_with_ae_data
    from trust_metrics
    group by period

),

final as (

    select
        period,
        total_trusts,
        trusts_with_community_data,
        trusts_with_rtt_data,
        trusts_with_ae_data,
        -- one type on every adapter (DuckDB's division would give a double), as the contract says
        cast(round(100.0 * trusts_with_community_data / total_trusts, 1) as numeric(5, 1)) as pct_with_community_data
    from coverage

)

select * from final
