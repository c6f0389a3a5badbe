{#-
    Provider rows of the waiting lists mapped to trust_metrics trusts through the
    reviewed trust_mapping seed with successors applied (int_trust_mapping_resolved), one
    row per trust x month x service. Where more than one provider code maps to a trust in a
    month (a predecessor before a merger and its successor), their figures are added.
-#}
with

community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where org_type = 'Provider'

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}
    where trust_code is not null

),

releases as (

    select * from {{ ref('stg_chs__load_log') }}

),

mapped as (

    select
        trust_mapping.trust_code,
        community_waits.period,
        community_waits.org_code,
        community_waits.service_category,
        community_waits.service_key,
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
        community_waits.has_52_week_split,
        community_waits.file_sha256,
        releases.released_on
    from community_waits
    inner join trust_mapping
        on community_waits.org_code = trust_mapping.org_code
    inner join releases
        on community_waits.file_sha256 = releases.file_sha256

),

aggregated as (

    select
        trust_code,
        period,
        service_category,
        service_key,
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
        max(case when has_52_week_split then 1 else 0 end) = 1 as has_52_week_split,
        max(released_on) as released_on,
        file_sha256
    from mapped
    group by trust_code, period, service_category, service_key, file_sha256

)

select * from aggregated
