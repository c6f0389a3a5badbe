{#-
    Section 8 of the release report: the organisation-months flagged as suspicious
    (int_organisation_months_flagged: rolled forward from the month before, all zeros
    after a month with a list, or a large month-on-month change), providers and trusts,
    one row per month, level, organisation and flag, with the figures and the likely
    cause when the successor table or a zeros month explains it. The data is as
    published; these are warnings for the reader.
-#}
{{ config(materialized='view') }}

with

organisation_months as (

    select * from {{ ref('int_organisation_months_flagged') }}
    where is_flagged

),

flags as (

    select
        period,
        org_level,
        org_code,
        org_name,
        'rolled forward' as anomaly,
        services_reported,
        total_waiting,
        previous_total_waiting,
        likely_cause
    from organisation_months
    where is_rolled_forward
    union all
    select
        period,
        org_level,
        org_code,
        org_name,
        'all zeros (submission glitch)' as anomaly,
        services_reported,
        total_waiting,
        previous_total_waiting,
        likely_cause
    from organisation_months
    where is_zero_glitch
    union all
    select
        period,
        org_level,
        org_code,
        org_name,
        'large change on the month before' as anomaly,
        services_reported,
        total_waiting,
        previous_total_waiting,
        likely_cause
    from organisation_months
    where is_large_change

),

final as (

    select
        period,
        org_level,
        org_code,
        org_name,
        anomaly,
        services_reported as services_flagged,
        total_waiting,
        previous_total_waiting,
        likely_cause
    from flags

)

select * from final
