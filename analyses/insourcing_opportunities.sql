-- Insourcing opportunities: in the latest month, the trust services and the ICB services
-- that need the most extra weekly capacity to meet the 18-week standard (standard_18_weeks_share
-- of patients within 18 weeks by standard_18_weeks_target_date), with the 52+ week backlog,
-- the waiting-list pressure and the trend: the list's net weekly growth now (demand -
-- removals) and the change in list, backlog and pressure over the latest 3 months.
-- The 25 largest per level; data-quality flags are shown, not filtered.
-- Trusts: every NHS trust provider. The capacity mart's Trust rows are the trusts of
-- trust_metrics (in_trust_metrics true); an NHS trust trust_metrics holds no row for is a
-- Provider row there, taken here as its trust (in_trust_metrics false; its own code, as in
-- fct_trust_community_waits). in_trust_metrics is null for ICB rows.
-- A trust series with a service step in the latest 3 months (int_service_months_flagged)
-- has no 3-month changes (null, has_service_step_3_months true): the step is not a
-- movement. ICB series are not flagged.
with

capacity_rows as (

    select * from {{ ref('fct_waiting_list_capacity') }}
    where org_level in ('Trust', 'ICB', 'Provider')

),

trusts_outside_trust_metrics as (

    select * from {{ ref('int_trust_mapping_resolved') }}
    where not in_trust_metrics and org_code = nhs_trust_code

),

capacity as (

    select
        capacity_rows.*,
        case
            when capacity_rows.org_level = 'Provider' then 'Trust' else capacity_rows.org_level
        end as ranked_level,
        case
            when capacity_rows.org_level = 'Trust' then true
            when capacity_rows.org_level = 'Provider' then false
        end as in_trust_metrics
    from capacity_rows
    left join trusts_outside_trust_metrics
        on capacity_rows.org_code = trusts_outside_trust_metrics.org_code
    where capacity_rows.org_level != 'Provider' or trusts_outside_trust_metrics.org_code is not null

),

latest as (

    select max(period) as period from capacity

),

this_month as (

    select capacity.*
    from capacity
    inner join latest
        on capacity.period = latest.period
    where capacity.extra_weekly_capacity_18_weeks > 0

),

service_steps as (

    select distinct
        case service_months.org_level when 'trust' then 'Trust' else 'Provider' end as org_level,
        service_months.org_code,
        service_months.service_category,
        service_months.service_key
    from {{ ref('int_service_months_flagged') }} as service_months
    inner join latest
        on
            service_months.period > {{ dbt.dateadd('month', -3, 'latest.period') }}
            and service_months.period <= latest.period
    where service_months.org_level in ('trust', 'provider') and service_months.is_service_step

),

three_months_before as (

    select capacity.*
    from capacity
    inner join latest
        on capacity.period = {{ dbt.dateadd('month', -3, 'latest.period') }}

),

ranked as (

    select
        this_month.ranked_level as org_level,
        this_month.org_code,
        this_month.org_name,
        this_month.in_trust_metrics,
        this_month.service_category,
        this_month.service_key,
        this_month.period,
        this_month.total_waiting,
        this_month.pct_within_18_weeks,
        this_month.extra_weekly_capacity_18_weeks,
        this_month.weekly_demand,
        this_month.weekly_removals,
        this_month.weeks_to_target_18_weeks,
        this_month.wait_52_plus_weeks,
        this_month.weeks_to_clear_52_plus_weeks,
        this_month.waiting_list_pressure_18_weeks,
        this_month.mean_wait_is_lower_bound,
        round(cast(this_month.weekly_demand - this_month.weekly_removals as numeric), 1) as net_weekly_growth,
        case
            when service_steps.org_code is null then this_month.total_waiting - three_months_before.total_waiting
        end as list_change_3_months,
        case
            when service_steps.org_code is null
                then this_month.wait_52_plus_weeks - three_months_before.wait_52_plus_weeks
        end as backlog_52_plus_change_3_months,
        case
            when service_steps.org_code is null
                then round(
                        cast(
                            this_month.waiting_list_pressure_18_weeks
                            - three_months_before.waiting_list_pressure_18_weeks
                            as numeric
                        ),
                        3
                    )
        end as pressure_change_3_months,
        service_steps.org_code is not null as has_service_step_3_months,
        this_month.is_short_history,
        this_month.is_bands_not_summing,
        this_month.is_merged_series,
        row_number() over (
            partition by this_month.ranked_level
            order by
                this_month.extra_weekly_capacity_18_weeks desc,
                this_month.org_code asc,
                this_month.service_key asc
        ) as capacity_rank
    from this_month
    left join three_months_before
        on
            this_month.ranked_level = three_months_before.ranked_level
            and this_month.org_code = three_months_before.org_code
            and this_month.service_category = three_months_before.service_category
            and this_month.service_key = three_months_before.service_key
    left join service_steps
        on
            this_month.org_level = service_steps.org_level
            and this_month.org_code = service_steps.org_code
            and this_month.service_category = service_steps.service_category
            and this_month.service_key = service_steps.service_key

)

select * from ranked
where capacity_rank <= 25
order by org_level desc, capacity_rank asc
