{#-
    Community waiting lists of every NHS trust provider, one row per month x trust x
    service the trust's providers published a total for: the trusts of trust_metrics
    (their providers added up, successors applied, as in community_health_data) and the
    NHS trusts trust_metrics holds no row for (`not_in_trust_metrics` in
    seeds/trust_mapping.csv: community, mental health and combined trusts, under their
    own code), with in_trust_metrics saying which. Providers that are not NHS trusts
    (`not_an_nhs_trust`) are left out. Name and ICB: trust_metrics' latest month for a
    trust it holds; the published provider name and no ICB for the others (the workbooks
    give a provider no ICB or region). Flags: the trust-month's and the trust series'
    service-month's (int_organisation_months_flagged, int_service_months_flagged), or for
    a trust outside trust_metrics its provider's.

    A view: it adds up one month's provider rows when read, so a monthly build writes
    nothing here and it follows a trust_mapping edit at once.
-#}
{{ config(materialized='view') }}

with

provider_waits as (

    select * from {{ ref('fct_provider_community_waits') }}
    where nhs_trust_code is not null and total_waiting is not null

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

trust_metrics_months as (

    select * from {{ ref('int_trust_metrics_deduplicated') }}

),

services_flagged as (

    select * from {{ ref('int_service_months_flagged') }}

),

organisation_months_flagged as (

    select * from {{ ref('int_organisation_months_flagged') }}

),

trust_months_ranked as (

    select
        trust_code,
        trust_name,
        icb_code,
        icb_name,
        row_number() over (partition by trust_code order by period desc) as recency
    from trust_metrics_months

),

trust_names as (

    -- a trust_metrics trust's name and ICB as of its latest month there
    select
        trust_code,
        trust_name,
        icb_code,
        icb_name
    from trust_months_ranked
    where recency = 1

),

aggregated as (

    select
        period,
        nhs_trust_code as trust_code,
        in_trust_metrics,
        service_category,
        service_key,
        service_label,
        count(distinct org_code) as provider_count,
        cast(sum(total_waiting) as bigint) as total_waiting,
        cast(sum(wait_0_1_weeks) as bigint) as wait_0_1_weeks,
        cast(sum(wait_1_2_weeks) as bigint) as wait_1_2_weeks,
        cast(sum(wait_2_4_weeks) as bigint) as wait_2_4_weeks,
        cast(sum(wait_4_12_weeks) as bigint) as wait_4_12_weeks,
        cast(sum(wait_12_18_weeks) as bigint) as wait_12_18_weeks,
        cast(sum(wait_18_52_weeks) as bigint) as wait_18_52_weeks,
        cast(sum(wait_52_plus_weeks) as bigint) as wait_52_plus_weeks,
        cast(sum(wait_52_104_weeks) as bigint) as wait_52_104_weeks,
        cast(sum(wait_104_plus_weeks) as bigint) as wait_104_plus_weeks,
        source_file_sha256
    from provider_waits
    group by
        period, nhs_trust_code, in_trust_metrics, service_category, service_key, service_label, source_file_sha256

),

final as (

    select
        aggregated.period,
        aggregated.trust_code,
        coalesce(trust_names.trust_name, own_mapping.org_name) as trust_name,
        trust_names.icb_code,
        trust_names.icb_name,
        aggregated.in_trust_metrics,
        aggregated.service_category,
        aggregated.service_key,
        aggregated.service_label,
        aggregated.provider_count,
        {%- for measure in waiting_measures() %}
            aggregated.{{ measure }},
        {%- endfor %}
        aggregated.source_file_sha256,
        month_flags.is_rolled_forward,
        month_flags.is_zero_glitch,
        month_flags.is_large_change,
        month_flags.likely_cause,
        service_flags.is_service_step as is_flagged_service_month,
        service_flags.likely_cause as service_likely_cause
    from aggregated
    left join trust_names
        on aggregated.trust_code = trust_names.trust_code
    left join trust_mapping as own_mapping
        on aggregated.trust_code = own_mapping.org_code
    -- a trust of trust_metrics: its trust series' flags; another: its provider's
    left join organisation_months_flagged as month_flags
        on
            aggregated.trust_code = month_flags.org_code
            and aggregated.period = month_flags.period
            and month_flags.org_level = {{ trust_flag_level('aggregated.in_trust_metrics') }}
    left join services_flagged as service_flags
        on
            aggregated.trust_code = service_flags.org_code
            and aggregated.period = service_flags.period
            and aggregated.service_category = service_flags.service_category
            and aggregated.service_key = service_flags.service_key
            and service_flags.org_level = {{ trust_flag_level('aggregated.in_trust_metrics') }}

)

select * from final
