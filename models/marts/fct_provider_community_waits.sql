{#-
    The Provider rows of fct_community_waits, one row per month x provider x service, with
    the NHS trust each provider's figures count towards whether or not trust_metrics holds
    it (int_trust_mapping_resolved.nhs_trust_code), and the seed's reason. One level, so
    nobody needs fct_community_waits' mixing rule (org_type) to read it. A view.
-#}
{{ config(materialized='view') }}

with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'Provider'

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

final as (

    select
        community_waits.period,
        community_waits.org_code,
        community_waits.org_name,
        trust_mapping.match_reason,
        trust_mapping.nhs_trust_code,
        trust_mapping.in_trust_metrics,
        community_waits.trust_code,
        community_waits.service_category,
        community_waits.service_key,
        community_waits.service_label,
        {%- for measure in waiting_measures() %}
            community_waits.{{ measure }},
        {%- endfor %}
        community_waits.source_file_sha256,
        community_waits.is_rolled_forward,
        community_waits.is_zero_glitch,
        community_waits.is_large_change,
        community_waits.likely_cause,
        community_waits.is_flagged_service_month,
        community_waits.service_likely_cause
    from community_waits
    left join trust_mapping
        on community_waits.org_code = trust_mapping.org_code

)

select * from final
