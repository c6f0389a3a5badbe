{#-
    One row per organisation x service x month, providers (Provider rows of the workbooks)
    and trusts (int_trust_community_services_aggregated: their providers added up,
    successors applied), with the service's list that month and the month before, and
    is_service_step: the list steps up or down by a large factor (macros/anomalies.sql;
    bounds: dbt vars). An organisation's whole list can move less than the x2 of
    int_organisation_months_flagged while one service grows x10: a caseload reported for
    the first time, a list reported under another service. likely_cause names what
    explains a step when known (macros/anomalies.sql, service_step_likely_cause). Flow
    estimates leave a flagged service month out (int_waiting_list_series_unioned), as they
    do a flagged organisation month; fct_community_waits shows the providers' flags. The
    data stays as published.

    Incremental by release, as int_organisation_months_flagged (releases_to_flag): a run
    flags the months of releases the table does not hold yet (with the current seeds) and
    the month after each, reading those and the month before each, so a monthly build
    reads three months whatever the number held. delete+insert on the grain replaces a
    re-flagged month's rows. flagged_by_invocation scopes the anomaly test to the rows
    this build flagged.
-#}
{%- set model_config = incremental_by_release_config(
    ['org_code', 'period', 'flagged_by_invocation'], batched=false
) -%}
{%- do model_config.update({
    'incremental_strategy': 'delete+insert',
    'unique_key': ['org_level', 'org_code', 'service_category', 'service_key', 'period'],
}) -%}
{{ config(**model_config) }}
{%- set scope = releases_to_flag() if is_incremental() else none %}
-- depends_on: {{ source('raw_chs', 'load_log') }}

with

provider_services as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where
        org_type = 'Provider'
        {%- if scope is not none %}
            and {{ file_sha256_in(scope.read) }}
        {%- endif %}

),

trust_services as (

    select * from {{ ref('int_trust_community_services_aggregated') }}
    {%- if scope is not none %}
    where {{ file_sha256_in(scope.read) }}  -- noqa: LT02
    {%- endif %}

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

organisation_months as (

    select * from {{ ref('int_organisation_months_flagged') }}
    {%- if scope is not none %}
    where {{ file_sha256_in(scope.flagged) }}  -- noqa: LT02
    {%- endif %}

),

-- both levels in one shape: the organisation's list of each service, month by month
service_months as (

    select
        'provider' as org_level,
        provider_services.org_code,
        provider_services.org_name,
        trust_mapping.trust_code,
        provider_services.service_category,
        provider_services.service_key,
        provider_services.period,
        provider_services.total_waiting,
        provider_services.file_sha256
    from provider_services
    left join trust_mapping
        on provider_services.org_code = trust_mapping.org_code
    union all
    select
        'trust' as org_level,
        trust_services.trust_code as org_code,
        trust_names.org_name,
        trust_services.trust_code,
        trust_services.service_category,
        trust_services.service_key,
        trust_services.period,
        trust_services.total_waiting,
        trust_services.file_sha256
    from trust_services
    left join trust_mapping as trust_names
        on trust_services.trust_code = trust_names.org_code

),

compared as (

    select
        current_month.org_level,
        current_month.org_code,
        current_month.org_name,
        current_month.trust_code,
        current_month.service_category,
        current_month.service_key,
        current_month.period,
        current_month.total_waiting,
        previous_month.total_waiting as previous_total_waiting,
        {{ is_service_step('current_month.total_waiting', 'previous_month.total_waiting') }} as is_service_step,
        current_month.file_sha256
    from service_months as current_month
    left join service_months as previous_month
        on
            current_month.org_level = previous_month.org_level
            and current_month.org_code = previous_month.org_code
            and current_month.service_category = previous_month.service_category
            and current_month.service_key = previous_month.service_key
            and previous_month.period = {{ add_months('current_month.period', -1) }}
    {%- if scope is not none %}
    where {{ file_sha256_in(scope.flagged, 'current_month.file_sha256') }}  -- noqa: LT02
    {%- endif %}

),

-- per step: the organisation's other services that stepped the other way that month
opposite_steps as (

    select
        step.org_level,
        step.org_code,
        step.service_category,
        step.service_key,
        step.period,
        string_agg(
            other.service_category || '.' || other.service_key,
            ', ' order by other.service_category, other.service_key
        ) as opposite_services
    from compared as step
    inner join compared as other
        on
            step.org_level = other.org_level
            and step.org_code = other.org_code
            and step.period = other.period
            and (step.total_waiting > step.previous_total_waiting)
            != (other.total_waiting > other.previous_total_waiting)
    where step.is_service_step and other.is_service_step
    group by step.org_level, step.org_code, step.service_category, step.service_key, step.period

),

-- organisation changes taking effect in a month: the successor's and its trust's
organisation_changes as (

    select
        'provider' as org_level,
        successor_code as org_code,
        successor_effective_period as effective_period,
        successor_change_kind || ': ' || org_code || ' to ' || successor_code
        || ' from ' || cast(successor_effective_period as {{ dbt.type_string() }}) as change_description
    from trust_mapping
    where successor_code is not null
    union all
    select
        'trust' as org_level,
        trust_code as org_code,
        successor_effective_period as effective_period,
        successor_change_kind || ': ' || org_code || ' to ' || successor_code
        || ' from ' || cast(successor_effective_period as {{ dbt.type_string() }}) as change_description
    from trust_mapping
    where successor_code is not null and trust_code is not null

),

changes_per_organisation as (

    select
        org_level,
        org_code,
        effective_period,
        string_agg(change_description, '; ' order by change_description) as changes
    from organisation_changes
    group by org_level, org_code, effective_period

),

organisation_flags as (

    select
        org_level,
        org_code,
        period,
        nullif(concat_ws(
            ', ',
            case when is_rolled_forward then 'rolled forward' end,
            case when is_zero_glitch then 'all zeros' end,
            case when is_large_change then 'large change' end
        ), '') as organisation_flag
    from organisation_months
    where is_flagged

),

final as (

    select
        compared.org_level,
        compared.org_code,
        compared.service_category,
        compared.service_key,
        compared.period,
        compared.org_name,
        compared.trust_code,
        compared.total_waiting,
        compared.previous_total_waiting,
        cast(compared.total_waiting as double precision)
        / nullif(compared.previous_total_waiting, 0) as change_ratio,
        compared.is_service_step,
        {{ service_step_likely_cause(
            'compared.is_service_step',
            'changes_per_organisation.changes',
            'organisation_flags.organisation_flag',
            'opposite_steps.opposite_services',
            'compared.total_waiting',
            'compared.previous_total_waiting',
        ) }} as likely_cause,
        compared.file_sha256,
        '{{ seeds_checksum() }}' as seeds_checksum,
        '{{ invocation_id }}' as flagged_by_invocation
    from compared
    left join opposite_steps
        on
            compared.org_level = opposite_steps.org_level
            and compared.org_code = opposite_steps.org_code
            and compared.service_category = opposite_steps.service_category
            and compared.service_key = opposite_steps.service_key
            and compared.period = opposite_steps.period
    left join changes_per_organisation
        on
            compared.org_level = changes_per_organisation.org_level
            and compared.org_code = changes_per_organisation.org_code
            and compared.period = changes_per_organisation.effective_period
    left join organisation_flags
        on
            compared.org_level = organisation_flags.org_level
            and compared.org_code = organisation_flags.org_code
            and compared.period = organisation_flags.period

)

select * from final
