{#-
    Revised months: each workbook release that a later release of the same month
    replaced, with both files and dates, and the latest month that had landed when the
    revision landed (the release that "brought" it: the report for that month lists it).
    Release report, section 8.
-#}
{{ config(materialized='view') }}

with

load_log as (

    select * from {{ ref('stg_chs__load_log') }}
    where source_kind = 'chs_workbook'

),

revisions as (

    select
        superseded.reporting_period as revised_period,
        superseded.file_name as superseded_file_name,
        superseded.released_on as superseded_released_on,
        superseding.file_name as revised_file_name,
        superseding.released_on as revised_released_on,
        superseding.loaded_at as revised_loaded_at
    from load_log as superseded
    inner join load_log as superseding
        on superseded.superseded_by_sha256 = superseding.file_sha256
    where
        not superseded.is_current_release
        -- a revision landed after what it replaced (an older release landed late is not one)
        and superseding.loaded_at >= superseded.loaded_at

),

current_months as (

    select
        reporting_period,
        loaded_at
    from load_log
    where is_current_release

),

landed_with as (

    -- the latest month landed by the time each revision landed
    select
        revisions.revised_loaded_at,
        max(current_months.reporting_period) as period
    from revisions
    inner join current_months
        on revisions.revised_loaded_at >= current_months.loaded_at
    group by revisions.revised_loaded_at

),

final as (

    select
        landed_with.period,
        revisions.revised_period,
        revisions.superseded_file_name,
        revisions.superseded_released_on,
        revisions.revised_file_name,
        revisions.revised_released_on,
        revisions.revised_loaded_at
    from revisions
    inner join landed_with
        on revisions.revised_loaded_at = landed_with.revised_loaded_at

)

select * from final
