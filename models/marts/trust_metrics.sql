{#-
    trust_metrics: one row per NHS trust and month of the existing extract, with its
    RTT, A&E, diagnostics and capacity figures as JSON by domain, and the community
    waiting lists of the providers mapped to the trust as community_health_data
    (null for trust-months without community data). jsonb + GIN index on PostgreSQL.
-#}
{{ config(post_hook="{{ create_json_index(this, 'community_health_data') }}") }}

with

trust_months as (

    select * from {{ ref('int_trust_metrics_deduplicated') }}

),

community_health as (

    select * from {{ ref('int_community_health_data_built') }}

),

final as (

    select
        trust_months.trust_code,
        trust_months.trust_name,
        trust_months.period,
        trust_months.icb_code,
        trust_months.icb_name,
        trust_months.rtt_data,
        trust_months.ae_data,
        trust_months.diagnostics_data,
        trust_months.capacity_data,
        community_health.community_health_data
    from trust_months
    left join community_health
        on
            trust_months.trust_code = community_health.trust_code
            and trust_months.period = community_health.period

)

select * from final
