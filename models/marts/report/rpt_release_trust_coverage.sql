{#-
    Who England's community waiting list is at, per month: the NHS trusts of
    trust_metrics, the NHS trusts trust_metrics holds no row for (community, mental
    health and combined trusts: trust_metrics holds acute trusts' rows), providers that
    are not NHS trusts, providers not in seeds/trust_mapping.csv yet, and the services
    NHS England publishes nationally only (England's total less the providers'). The
    groups add up to England's total. The release report's trust section (section 5).
-#}
{{ config(materialized='view') }}

with

provider_waits as (

    select * from {{ ref('fct_provider_community_waits') }}

),

national_waits as (

    select * from {{ ref('fct_national_community_waits') }}

),

providers_grouped as (

    select
        period,
        case
            when in_trust_metrics then 'nhs_trusts_in_trust_metrics'
            when not in_trust_metrics then 'nhs_trusts_not_in_trust_metrics'
            when match_reason is not null then 'not_nhs_trusts'
            else 'not_in_trust_mapping'
        end as provider_group,
        coalesce(nhs_trust_code, org_code) as organisation_code,
        total_waiting,
        wait_52_plus_weeks
    from provider_waits

),

per_group as (

    select
        period,
        provider_group,
        count(distinct case when total_waiting is not null then organisation_code end) as organisations,
        cast(coalesce(sum(total_waiting), 0) as bigint) as total_waiting,
        cast(coalesce(sum(wait_52_plus_weeks), 0) as bigint) as wait_52_plus_weeks
    from providers_grouped
    group by period, provider_group

),

england as (

    select
        period,
        cast(sum(total_waiting) as bigint) as total_waiting,
        cast(sum(wait_52_plus_weeks) as bigint) as wait_52_plus_weeks
    from national_waits
    group by period

),

nationally_only as (

    select
        england.period,
        'published_nationally_only' as provider_group,
        0 as organisations,
        england.total_waiting - coalesce(sum(per_group.total_waiting), 0) as total_waiting,
        england.wait_52_plus_weeks - coalesce(sum(per_group.wait_52_plus_weeks), 0) as wait_52_plus_weeks
    from england
    left join per_group
        on england.period = per_group.period
    group by england.period, england.total_waiting, england.wait_52_plus_weeks

),

groups as (

    select * from per_group
    union all
    select * from nationally_only

),

final as (

    select
        groups.period,
        groups.provider_group,
        case groups.provider_group
            when 'nhs_trusts_in_trust_metrics' then 1
            when 'nhs_trusts_not_in_trust_metrics' then 2
            when 'not_nhs_trusts' then 3
            when 'not_in_trust_mapping' then 4
            else 5
        end as group_order,
        groups.organisations,
        groups.total_waiting,
        groups.wait_52_plus_weeks,
        {{ percent('groups.total_waiting', 'england.total_waiting') }} as pct_of_england,
        {{ percent('groups.wait_52_plus_weeks', 'england.wait_52_plus_weeks') }} as pct_of_england_52_plus_weeks
    from groups
    inner join england
        on groups.period = england.period

)

select * from final
