{#-
    Community waiting lists, one row per month x organisation x service: every row of
    every published Table 4 (National, Region, ICB, Provider) and every service column,
    blanks kept as null. Provider rows carry the trust_metrics trust their figures count
    towards (successors applied), their provider-month's anomaly flags
    (int_organisation_months_flagged) and their service-month's (int_service_months_flagged:
    is_flagged_service_month, service_likely_cause), so analyses can leave those months out.

    A view, unlike the other marts: it is the incremental int_community_waits_pivoted
    table with each Provider row's trust attached, so a table would copy 9k rows per
    month on every build (and grow the monthly build with the months loaded) to save a
    join with a 154-row seed. It also follows a trust_mapping edit at once.
-#}
{{ config(materialized='view') }}

with

community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

provider_months_flagged as (

    select * from {{ ref('int_organisation_months_flagged') }}
    where org_level = 'provider'

),

provider_services_flagged as (

    select * from {{ ref('int_service_months_flagged') }}
    where org_level = 'provider'

),

final as (

    select
        community_waits.period,
        community_waits.org_type,
        community_waits.org_code,
        community_waits.org_name,
        trust_mapping.trust_code,
        community_waits.service_category,
        community_waits.service_key,
        community_waits.service_label,
        community_waits.total_waiting,
        community_waits.wait_0_1_weeks,
        community_waits.wait_1_2_weeks,
        community_waits.wait_2_4_weeks,
        community_waits.wait_4_12_weeks,
        community_waits.wait_12_18_weeks,
        community_waits.wait_18_52_weeks,
        community_waits.wait_52_plus_weeks,
        community_waits.wait_52_104_weeks,
        community_waits.wait_104_plus_weeks,
        community_waits.file_sha256 as source_file_sha256,
        provider_months_flagged.is_rolled_forward,
        provider_months_flagged.is_zero_glitch,
        provider_months_flagged.is_large_change,
        provider_months_flagged.likely_cause,
        provider_services_flagged.is_service_step as is_flagged_service_month,
        provider_services_flagged.likely_cause as service_likely_cause
    from community_waits
    -- Provider rows only: the others' key is null. (With org_type = 'Provider' as a second
    -- join condition DuckDB joined by nested loop, 8x slower than this hash join.)
    left join trust_mapping
        on
            case when community_waits.org_type = 'Provider' then community_waits.org_code end
            = trust_mapping.org_code
    left join provider_months_flagged
        on
            case when community_waits.org_type = 'Provider' then community_waits.org_code end
            = provider_months_flagged.org_code
            and community_waits.period = provider_months_flagged.period
    left join provider_services_flagged
        on
            case when community_waits.org_type = 'Provider' then community_waits.org_code end
            = provider_services_flagged.org_code
            and community_waits.service_category = provider_services_flagged.service_category
            and community_waits.service_key = provider_services_flagged.service_key
            and community_waits.period = provider_services_flagged.period

)

select * from final
