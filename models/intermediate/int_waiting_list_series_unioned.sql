{#-
    The waiting-list series the capacity estimates are computed on: one row per month x
    organisation level x organisation x service with a published total, for every level:
    Provider, ICB, Region and National rows as published, and Trust rows (providers mapped
    to trust_metrics trusts through seeds/trust_mapping.csv, added up, so that providers
    that merged form one series: int_trust_community_services_aggregated).

    Providers count towards their trust through int_trust_mapping_resolved (successors
    applied in every month, as every trust series does). A Provider or Trust month that
    int_organisation_months_flagged flags (figures rolled forward, a month of zeros, a
    change of x2 or x0.5) is not usable for flows: fct_waiting_list_capacity leaves it out
    of the demand and removals estimates, and the month after it too (its removals start
    from the flagged list); its list is still reported. So is a Provider or Trust service
    month that int_service_months_flagged flags (one service's list steps by x5 or x0.2:
    is_flagged_service_month). ICB, Region and National rows are not flagged, but the
    National row's flows leave out the Provider service months that are (the steps_*
    columns: their 0-1 week band and their lists that month and the month before), so a
    step reads as no flow there either; ICB and Region rows, whose providers the
    workbooks do not name, keep them.
-#}
{%- set measures = waiting_measures() %}

with

community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where total_waiting is not null

),

trust_services as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    where total_waiting is not null

),

services as (

    select * from {{ ref('chs_services') }}

),

trust_mapping as (

    select
        org_code,
        org_name,
        trust_code,
        'Provider' as org_type
    from {{ ref('int_trust_mapping_resolved') }}
    where trust_code is not null

),

months_flagged as (

    select
        org_level,
        org_code,
        period,
        is_flagged
    from {{ ref('int_organisation_months_flagged') }}

),

service_months_flagged as (

    select
        org_level,
        org_code,
        service_category,
        service_key,
        period,
        total_waiting,
        previous_total_waiting,
        is_service_step
    from {{ ref('int_service_months_flagged') }}
    where is_service_step

),

trusts as (

    select
        trust_code,
        -- the trust's own provider row names it; else any provider mapped to it
        coalesce(max(case when org_code = trust_code then org_name end), max(org_name)) as trust_name,
        count(*) > 1 as is_merged_series
    from trust_mapping
    group by trust_code

),

published_rows as (

    select
        community_waits.period,
        community_waits.org_type as org_level,
        community_waits.org_code,
        community_waits.org_name,
        trust_mapping.trust_code,
        community_waits.service_category,
        community_waits.service_key,
        community_waits.service_label,
        {%- for measure in measures %}
            community_waits.{{ measure }},
        {%- endfor %}
        community_waits.has_52_week_split,
        coalesce(trusts.is_merged_series, false) as is_merged_series,
        community_waits.file_sha256
    from community_waits
    left join trust_mapping
        on
            community_waits.org_type = trust_mapping.org_type
            and community_waits.org_code = trust_mapping.org_code
    left join trusts
        on trust_mapping.trust_code = trusts.trust_code

),

trust_rows as (

    select
        trust_services.period,
        'Trust' as org_level,
        trust_services.trust_code as org_code,
        trusts.trust_name as org_name,
        trust_services.trust_code,
        trust_services.service_category,
        trust_services.service_key,
        services.service_label,
        {%- for measure in measures %}
            trust_services.{{ measure }},
        {%- endfor %}
        trust_services.has_52_week_split,
        trusts.is_merged_series,
        trust_services.file_sha256
    from trust_services
    inner join trusts
        on trust_services.trust_code = trusts.trust_code
    inner join services
        on
            trust_services.service_category = services.service_category
            and trust_services.service_key = services.service_key

),

-- per month and service, the Provider service months flagged as steps: the National row
-- (the sum of the Provider rows: assert_waiting_list_capacity__national_equals_sum_of_providers)
-- takes no flow from them, as their own series do not
national_flows_left_out as (

    select
        steps.period,
        steps.service_category,
        steps.service_key,
        sum(coalesce(community_waits.wait_0_1_weeks, 0)) as steps_wait_0_1_weeks,
        sum(coalesce(steps.total_waiting, 0)) as steps_total_waiting,
        sum(coalesce(steps.previous_total_waiting, 0)) as steps_previous_total_waiting
    from service_months_flagged as steps
    left join community_waits
        on
            community_waits.org_type = 'Provider'
            and steps.org_code = community_waits.org_code
            and steps.service_category = community_waits.service_category
            and steps.service_key = community_waits.service_key
            and steps.period = community_waits.period
    where steps.org_level = 'provider'
    group by steps.period, steps.service_category, steps.service_key

),

series as (

    select * from published_rows
    union all
    select * from trust_rows

),

months_usable_for_flows as (

    select
        series.*,
        not coalesce(months_flagged.is_flagged, false)
        and not coalesce(service_months_flagged.is_service_step, false) as is_usable_for_flows,
        coalesce(months_flagged.is_flagged, false) as is_flagged_organisation_month,
        coalesce(service_months_flagged.is_service_step, false) as is_flagged_service_month,
        coalesce(national_flows_left_out.steps_wait_0_1_weeks, 0) as steps_wait_0_1_weeks,
        coalesce(national_flows_left_out.steps_total_waiting, 0) as steps_total_waiting,
        coalesce(national_flows_left_out.steps_previous_total_waiting, 0) as steps_previous_total_waiting
    from series
    left join months_flagged
        on
            lower(series.org_level) = months_flagged.org_level
            and series.org_code = months_flagged.org_code
            and series.period = months_flagged.period
    left join service_months_flagged
        on
            lower(series.org_level) = service_months_flagged.org_level
            and series.org_code = service_months_flagged.org_code
            and series.service_category = service_months_flagged.service_category
            and series.service_key = service_months_flagged.service_key
            and series.period = service_months_flagged.period
    left join national_flows_left_out
        on
            series.org_level = 'National'
            and series.service_category = national_flows_left_out.service_category
            and series.service_key = national_flows_left_out.service_key
            and series.period = national_flows_left_out.period

)

select * from months_usable_for_flows
