{#-
    Providers that appear in a month's workbook and not in the month before it landed
    ("new"), or the other way round ("vanished"), with the trust each maps to. The
    release report's data-quality panel (section 8) and the release summary. Providers
    are read from int_organisation_months_flagged (a row per provider and month), not
    from the Provider rows of every service in fct_community_waits: the same providers,
    one row where there were 47.
-#}
{{ config(materialized='view') }}

with

provider_months as (

    select * from {{ ref('int_organisation_months_flagged') }}
    where org_level = 'provider'

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

providers as (

    select
        provider_months.period,
        provider_months.org_code,
        provider_months.org_name,
        trust_mapping.trust_code
    from provider_months
    left join trust_mapping
        on provider_months.org_code = trust_mapping.org_code

),

months as (

    select
        period,
        lag(period) over (order by period) as previous_period
    from (select distinct period from providers) as landed

),

new_providers as (

    select
        months.period,
        months.previous_period,
        providers.org_code,
        providers.org_name,
        providers.trust_code,
        'new' as provider_change
    from months
    inner join providers
        on months.period = providers.period
    left join providers as previous_providers
        on
            months.previous_period = previous_providers.period
            and providers.org_code = previous_providers.org_code
    where months.previous_period is not null and previous_providers.org_code is null

),

vanished_providers as (

    select
        months.period,
        months.previous_period,
        previous_providers.org_code,
        previous_providers.org_name,
        previous_providers.trust_code,
        'vanished' as provider_change
    from months
    inner join providers as previous_providers
        on months.previous_period = previous_providers.period
    left join providers
        on
            months.period = providers.period
            and previous_providers.org_code = providers.org_code
    where providers.org_code is null

),

final as (

    select * from new_providers
    union all
    select * from vanished_providers

)

select * from final
