{#-
    Proposed rows for seeds/trust_successors.csv: a provider that stopped reporting (its
    last month is before a landed month) while another provider's list grew, the month
    after, by a similar amount (within `successor_match_tolerance`, 25%) with as much of
    the vanished list reappearing in the same services. Providers the seed already lists
    are left out, so it is empty when the seed is complete. `python -m loader
    propose-mapping` prints it as CSV rows to review (and confirm against the ODS
    successor record) before adding them.
-#}
{{ config(materialized='view') }}
{%- set tolerance = var('successor_match_tolerance') %}

with

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

provider_months as (

    select * from {{ ref('int_organisation_months_flagged') }}
    where org_level = 'provider'

),

last_reports as (

    select
        org_code,
        max(period) as last_period
    from provider_months
    group by org_code

),

landed_months as (

    select distinct period from provider_months

),

vanished as (

    select
        last_reports.org_code,
        provider_months.org_name,
        last_reports.last_period,
        landed_months.period as vanished_from,
        provider_months.total_waiting
    from last_reports
    inner join provider_months
        on
            last_reports.org_code = provider_months.org_code
            and last_reports.last_period = provider_months.period
    inner join landed_months
        on landed_months.period = {{ add_months('last_reports.last_period', 1) }}
    left join trust_mapping
        on last_reports.org_code = trust_mapping.org_code
    where provider_months.total_waiting > 0 and trust_mapping.successor_code is null

),

-- the Provider rows of the months compared: a vanished provider's last month and the
-- month after (not every month held)
community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where
        org_type = 'Provider'
        and period in (
            select vanished.last_period from vanished
            union
            select vanished.vanished_from from vanished
        )

),

-- every provider reporting in the month a vanished one stopped, service by service
candidate_services as (

    select
        vanished.org_code as predecessor_code,
        successor_after.org_code as successor_code,
        coalesce(successor_after.total_waiting, 0) - coalesce(successor_before.total_waiting, 0) as growth,
        coalesce(predecessor_last.total_waiting, 0) as predecessor_waiting
    from vanished
    inner join community_waits as successor_after
        on
            vanished.vanished_from = successor_after.period
            and vanished.org_code != successor_after.org_code
    left join community_waits as successor_before
        on
            successor_after.org_code = successor_before.org_code
            and successor_after.service_label = successor_before.service_label
            and vanished.last_period = successor_before.period
    left join community_waits as predecessor_last
        on
            vanished.org_code = predecessor_last.org_code
            and successor_after.service_label = predecessor_last.service_label
            and vanished.last_period = predecessor_last.period

),

candidates as (

    select
        predecessor_code,
        successor_code,
        sum(growth) as successor_growth,
        sum(least(predecessor_waiting, greatest(growth, 0))) as reappearing_in_same_services
    from candidate_services
    group by predecessor_code, successor_code

),

proposals as (

    select
        candidates.predecessor_code,
        candidates.successor_code,
        vanished.org_name as predecessor_name,
        vanished.last_period,
        vanished.vanished_from,
        vanished.total_waiting as predecessor_waiting,
        candidates.successor_growth,
        candidates.reappearing_in_same_services,
        cast(round(100.0 * candidates.reappearing_in_same_services / vanished.total_waiting) as integer)
            as percent_in_same_services
    from candidates
    inner join vanished
        on candidates.predecessor_code = vanished.org_code
    where
        candidates.successor_growth between (1 - {{ tolerance }}) * vanished.total_waiting
        and (1 + {{ tolerance }}) * vanished.total_waiting
        and candidates.reappearing_in_same_services >= (1 - {{ tolerance }}) * vanished.total_waiting

),

final as (

    select
        predecessor_code,
        successor_code,
        vanished_from as effective_period,
        case
            when
                substr(predecessor_code, 1, 1) in ('R', 'T')
                and substr(successor_code, 1, 1) in ('R', 'T')
                then 'merger'
            else 'service_transfer'
        end as change_kind,
        'proposed for review: confirm against the ODS successor record' as source,  -- noqa: RF04
        predecessor_code || ' last reported '
        || substr(cast(last_period as {{ dbt.type_string() }}), 1, 7)
        || ' (' || cast(predecessor_waiting as {{ dbt.type_string() }}) || '); '
        || successor_code || ' grew by ' || cast(successor_growth as {{ dbt.type_string() }})
        || ' in ' || substr(cast(vanished_from as {{ dbt.type_string() }}), 1, 7) || ', '
        || cast(percent_in_same_services as {{ dbt.type_string() }})
        || '% of the list reappearing in the same services' as evidence,
        predecessor_name,
        predecessor_waiting,
        successor_growth,
        reappearing_in_same_services
    from proposals

)

select * from final
