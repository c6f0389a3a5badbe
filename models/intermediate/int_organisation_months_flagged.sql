{#-
    One row per organisation and month, providers (Provider rows of the workbooks) and
    trusts (their providers added up, successors applied: int_trust_mapping_resolved),
    with the month's total waiting list, the month before's, and flags for figures that
    are not movements of the list (macros/anomalies.sql):
      is_rolled_forward  a provider's whole row repeats the month before's;
      is_zero_glitch     a provider's every service is 0 after a month with a list;
      is_large_change    the total doubles or halves (bounds: dbt vars);
    a trust-month carries its providers' first two flags. likely_cause names an
    organisation change of that month (seeds/trust_successors.csv), or a month before
    published as zeros. The one place these flags live: fct_community_waits shows the
    providers', and flow estimates leave flagged months out. The data stays as
    published; trust_metrics.community_health_data does not read this model.

    Incremental by release: a run flags the months of releases the table does not hold
    yet (with the current seeds) and the month after each, reading those and the month
    before each (macros/anomalies.sql), so a monthly build reads three months whatever
    the number held. delete+insert on the grain replaces a re-flagged month's rows.
    flagged_by_invocation scopes the anomaly tests to the rows this build flagged.
-#}
{%- set model_config = incremental_by_release_config(
    ['org_code', 'period', 'flagged_by_invocation'], batched=false
) -%}
{%- do model_config.update({
    'incremental_strategy': 'delete+insert',
    'unique_key': ['org_level', 'org_code', 'period'],
}) -%}
{{ config(**model_config) }}
{%- set scope = releases_to_flag() if is_incremental() else none %}
-- depends_on: {{ source('raw_chs', 'load_log') }}

with

community_waits as (

    select * from {{ ref('int_community_waits_pivoted') }}
    where
        org_type = 'Provider'
        {%- if scope is not none %}
            and {{ file_sha256_in(scope.read) }}
        {%- endif %}

),

trust_mapping as (

    select * from {{ ref('int_trust_mapping_resolved') }}

),

provider_months as (

    select
        file_sha256,
        period,
        org_code,
        max(org_name) as org_name,
        count(*) as services,
        count(total_waiting) as services_reported,
        cast(sum(total_waiting) as bigint) as total_waiting
    from community_waits
    group by file_sha256, period, org_code

),

flagged_provider_months as (

    select * from provider_months
    {%- if scope is not none %}
    where {{ file_sha256_in(scope.flagged) }}  -- noqa: LT02
    {%- endif %}

),

-- per provider-month: services whose total and every band equal the month before's
services_compared as (

    select
        current_month.period,
        current_month.org_code,
        sum(
            case when {{ all_measures_equal('current_month', 'previous_month') }} then 1 else 0 end
        ) as services_unchanged
    from community_waits as current_month
    inner join community_waits as previous_month
        on
            current_month.org_code = previous_month.org_code
            and current_month.service_label = previous_month.service_label
            and previous_month.period = {{ add_months('current_month.period', -1) }}
    {%- if scope is not none %}
    where {{ file_sha256_in(scope.flagged, 'current_month.file_sha256') }}  -- noqa: LT02
    {%- endif %}
    group by current_month.period, current_month.org_code

),

trust_months as (

    select
        trust_mapping.trust_code,
        provider_months.period,
        max(provider_months.file_sha256) as file_sha256,
        cast(sum(provider_months.total_waiting) as bigint) as total_waiting,
        string_agg(provider_months.org_code, ', ' order by provider_months.org_code) as provider_codes
    from provider_months
    inner join trust_mapping
        on provider_months.org_code = trust_mapping.org_code
    where trust_mapping.trust_code is not null
    group by trust_mapping.trust_code, provider_months.period

),

-- organisation changes: a provider takes over another's services from effective_period
organisation_changes as (

    select
        successor_code,
        trust_code,
        successor_effective_period as effective_period,
        successor_change_kind || ': ' || org_code || ' to ' || successor_code
        || ' from ' || cast(successor_effective_period as {{ dbt.type_string() }}) as change_description
    from trust_mapping
    where successor_code is not null

),

changes_per_provider as (

    select
        successor_code,
        effective_period,
        string_agg(change_description, '; ' order by change_description) as changes
    from organisation_changes
    group by successor_code, effective_period

),

changes_per_trust as (

    select
        trust_code,
        effective_period,
        string_agg(change_description, '; ' order by change_description) as changes
    from organisation_changes
    where trust_code is not null
    group by trust_code, effective_period

),

provider_flags as (

    select
        current_month.org_code,
        current_month.org_name,
        trust_mapping.trust_code,
        current_month.period,
        current_month.file_sha256,
        current_month.total_waiting,
        previous_month.total_waiting as previous_total_waiting,
        current_month.services_reported,
        current_month.org_code as provider_codes,
        {{ is_rolled_forward(
            'current_month.total_waiting', 'current_month.services', 'services_compared.services_unchanged'
        ) }} as is_rolled_forward,
        {{ is_zero_glitch(
            'current_month.total_waiting', 'current_month.services_reported', 'previous_month.total_waiting'
        ) }} as is_zero_glitch,
        {{ is_large_change('current_month.total_waiting', 'previous_month.total_waiting') }} as is_large_change,
        {{ follows_zero_month(
            'current_month.total_waiting', 'previous_month.total_waiting', 'previous_month.services_reported'
        ) }} as follows_zero_month,
        changes_per_provider.changes
    from flagged_provider_months as current_month
    left join provider_months as previous_month
        on
            current_month.org_code = previous_month.org_code
            and previous_month.period = {{ add_months('current_month.period', -1) }}
    left join services_compared
        on
            current_month.org_code = services_compared.org_code
            and current_month.period = services_compared.period
    left join trust_mapping
        on current_month.org_code = trust_mapping.org_code
    left join changes_per_provider
        on
            current_month.org_code = changes_per_provider.successor_code
            and current_month.period = changes_per_provider.effective_period

),

-- a trust-month carries the rolled-forward and zero flags of the providers counted in it
providers_flagged_per_trust as (

    select
        trust_code,
        period,
        max(case when is_rolled_forward then 1 else 0 end) = 1 as has_rolled_forward_provider,
        max(case when is_zero_glitch then 1 else 0 end) = 1 as has_zero_glitch_provider,
        max(case when follows_zero_month then 1 else 0 end) = 1 as follows_zero_month
    from provider_flags
    where trust_code is not null
    group by trust_code, period

),

trust_flags as (

    select
        current_month.trust_code as org_code,
        trust_names.org_name,
        current_month.trust_code,
        current_month.period,
        current_month.file_sha256,
        current_month.total_waiting,
        previous_month.total_waiting as previous_total_waiting,
        cast(null as bigint) as services_reported,
        current_month.provider_codes,
        providers_flagged.has_rolled_forward_provider as is_rolled_forward,
        providers_flagged.has_zero_glitch_provider as is_zero_glitch,
        {{ is_large_change('current_month.total_waiting', 'previous_month.total_waiting') }} as is_large_change,
        providers_flagged.follows_zero_month,
        changes_per_trust.changes
    from trust_months as current_month
    inner join providers_flagged_per_trust as providers_flagged
        on
            current_month.trust_code = providers_flagged.trust_code
            and current_month.period = providers_flagged.period
    left join trust_months as previous_month
        on
            current_month.trust_code = previous_month.trust_code
            and previous_month.period = {{ add_months('current_month.period', -1) }}
    left join trust_mapping as trust_names
        on current_month.trust_code = trust_names.org_code
    left join changes_per_trust
        on
            current_month.trust_code = changes_per_trust.trust_code
            and current_month.period = changes_per_trust.effective_period

),

final as (

    {%- for level in ['provider', 'trust'] %}
        select
            '{{ level }}' as org_level,
            org_code,
            period,
            org_name,
            trust_code,
            provider_codes,
            services_reported,
            total_waiting,
            previous_total_waiting,
            cast(total_waiting as {{ dbt.type_float() }}) / nullif(previous_total_waiting, 0) as change_ratio,
            is_rolled_forward,
            is_zero_glitch,
            is_large_change,
            is_rolled_forward or is_zero_glitch or is_large_change as is_flagged,
            nullif(concat_ws(
                '; ', changes, case when follows_zero_month then 'month before published as zeros' end
            ), '') as likely_cause,
            file_sha256,
            '{{ seeds_checksum() }}' as seeds_checksum,
            '{{ invocation_id }}' as flagged_by_invocation
        from {{ level }}_flags
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from final
