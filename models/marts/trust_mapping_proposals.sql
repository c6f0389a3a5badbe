{#-
    Providers in the landed releases that seeds/trust_mapping.csv does not list yet, with
    a proposed row: matched_by_code when trust_metrics has the same code, otherwise
    not_in_trust_metrics for NHS trust codes (R.., T..) and not_an_nhs_trust for the rest.
    Empty when the seed is complete. `python -m loader propose-mapping` prints it as CSV.
-#}
{{ config(materialized='view') }}

with

-- a row per provider and month landed (not one per service)
provider_months as (

    select * from {{ ref('int_organisation_months_flagged') }}
    where org_level = 'provider'

),

trust_mapping as (

    select * from {{ ref('trust_mapping') }}

),

trust_months as (

    select * from {{ ref('int_trust_metrics_deduplicated') }}

),

known_trusts as (

    select distinct trust_code from trust_months

),

unmapped_providers as (

    select
        provider_months.org_code,
        max(provider_months.org_name) as org_name,
        min(provider_months.period) as first_period,
        max(provider_months.period) as last_period
    from provider_months
    left join trust_mapping
        on provider_months.org_code = trust_mapping.org_code
    where trust_mapping.org_code is null
    group by provider_months.org_code

),

final as (

    select
        unmapped_providers.org_code,
        unmapped_providers.org_name,
        known_trusts.trust_code,
        case
            when known_trusts.trust_code is not null then 'matched_by_code'
            when substr(unmapped_providers.org_code, 1, 1) in ('R', 'T') then 'not_in_trust_metrics'
            else 'not_an_nhs_trust'
        end as match_reason,
        'proposed for review; first seen ' || cast(unmapped_providers.first_period as {{ dbt.type_string() }})
            as note,
        unmapped_providers.first_period,
        unmapped_providers.last_period
    from unmapped_providers
    left join known_trusts
        on unmapped_providers.org_code = known_trusts.trust_code

)

select * from final
